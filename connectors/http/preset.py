"""Presets: an HTTP source whose config starts from a vendor's defaults.

The user's config is merged over the preset's `defaults`, key by key: mappings merge,
anything else (lists, strings) replaces, and `null` removes a default (`entities: {people:
null}` drops a stream). Where the user's `auth` or `paginator` names a different `type`
than the default, it replaces the default whole.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import model_validator

from connectors.http.config import HttpSourceConfig


def merge(default: Any, override: Any) -> Any:
    if not (isinstance(default, dict) and isinstance(override, dict)):
        return override
    if "type" in default and "type" in override and default["type"] != override["type"]:
        return override
    out = dict(default)
    for key, value in override.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge(default.get(key), value)
    return out


class PresetConfig(HttpSourceConfig):
    #: the vendor's defaults, merged under the user's config
    defaults: ClassVar[dict[str, Any]] = {}

    @model_validator(mode="before")
    @classmethod
    def _apply_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return merge(cls.defaults, data)
