"""What `assetgraph validate` says about bad values: per mapped stream, which fields hold a
row back when a value cannot be read (`on_invalid: quarantine`, by default the identity and
`required` fields), and a warning where an identity field is set to `blank`."""

from __future__ import annotations

from dataclasses import dataclass

from connectors.fields import invalid_policy
from federation.config.settings import Config


@dataclass(frozen=True)
class PolicyReport:
    #: one line per stream with a field whose bad values quarantine the row
    lines: list[str]
    #: identity fields set to `blank`
    warnings: list[str]


def invalid_value_report(config: Config) -> PolicyReport:
    lines: list[str] = []
    warnings: list[str] = []
    for i, source in enumerate(config.sources):
        for entity, stream in source.entities.items():
            identity = {f for rule in config.rules(entity).identity or () for f in rule}
            held: dict[str, list[str]] = {}
            for field, mapping in stream.fields.items():
                policy, why = invalid_policy(mapping, field, identity)
                if policy == "quarantine":
                    held.setdefault(why, []).append(field)
                elif field in identity:
                    warnings.append(
                        f"sources[{i}].entities.{entity}.fields.{field}: on_invalid: blank on an "
                        f"identity field of {entity}: a value that cannot be read is left out, so "
                        "the record may not merge with the same thing in another source (or merge "
                        "on a weaker rule)"
                    )
            if not held:
                continue
            reasons = "; ".join(f"{', '.join(fields)} ({_WHY[why]})" for why, fields in held.items())
            lines.append(
                f"sources[{i}] {source.name}, {entity}: a value that cannot be read quarantines the "
                f"row in {reasons}; in any other field it is left out with a quality note"
            )
    return PolicyReport(lines, warnings)


_WHY = {
    "identity field": "identity fields",
    "required": "required",
    "on_invalid": "on_invalid: quarantine",
}
