"""The write path: a mutation's values routed to the sources that own them, checked against
what the caller saw, written, read back and patched into the served graph; every field,
accepted or refused, in the change history. Above federation/workflow (the history) and
federation/pipeline (the store), below federation/access and schema (the door is there).
"""

from federation.writes.errors import WriteError
from federation.writes.history import Caller
from federation.writes.writer import Writer, Written

__all__ = ["Caller", "WriteError", "Writer", "Written"]
