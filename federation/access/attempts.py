"""Failed credential attempts, counted per client and per API key id in fixed windows.

Past the limit, a client (or a key id, from any client) is refused at once until its window
ends: guessing a secret costs the guesser time, not the server scrypt.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from cachetools import LRUCache

#: counters kept per kind (client addresses, key ids); the least recently failed go first
MAX_TRACKED = 65_536


class Attempts:
    """key → (failures, start of its window)."""

    def __init__(
        self,
        limit: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
        maxsize: int = MAX_TRACKED,
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._seen: LRUCache[str, tuple[int, float]] = LRUCache(maxsize)
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> float | None:
        """Seconds until `key` may try again, or None if it may now."""
        now = self._clock()
        with self._lock:
            found = self._seen.get(key)
        if found is None:
            return None
        count, start = found
        left = start + self.window - now
        if left <= 0 or count < self.limit:
            return None
        return left

    def failed(self, key: str) -> None:
        now = self._clock()
        with self._lock:
            count, start = self._seen.get(key, (0, now))
            if now - start >= self.window:
                count, start = 0, now
            self._seen[key] = (count + 1, start)
