"""Every root field of every role's schema — the mutations and the workflow lists included —
passes the one door (`schema.authorize`) before it reads or writes anything: enumerated
from the schemas the server builds, so a mutation added without the door fails here."""

from __future__ import annotations

import re
from typing import Any

from graphql import GraphQLNonNull, GraphQLObjectType, get_named_type
from write_gateway import Gateway

from federation.pipeline.store import StoreReader
from federation.serving.app import make_security
from schema.context import RequestContext

ANY_ID = "00000000-0000-0000-0000-000000000000"
#: the arguments that make a mutation reach its resolver (not necessarily succeed)
MUTATION_ARGS = {
    r"update_\w+_by_pk": f'pk_columns: {{id: "{ANY_ID}"}}, _set: {{}}',
    r"update_\w+": f'where: {{id: {{_eq: "{ANY_ID}"}}}}',
    r"insert_\w+_one": "object: {}",
    r"insert_\w+": "objects: []",
    r"delete_\w+_by_pk": f'id: "{ANY_ID}"',
    r"delete_\w+": f'where: {{id: {{_eq: "{ANY_ID}"}}}}',
    r"check(out|in)_asset": f'asset: {{id: "{ANY_ID}"}}',
    r"check(out|in)_assets": "scans: []",
    r"log_maintenance": f'asset: {{id: "{ANY_ID}"}}, kind: "repair"',
    r"close_maintenance": f'id: "{ANY_ID}"',
    r"sync_source": 'name: "no-such-source"',
    r"submit_request": f'item: {{asset_id: "{ANY_ID}"}}, answers: {{}}',
    r"reject_request": f'id: "{ANY_ID}", reason: "no"',
    r"(approve|cancel|fulfil)_request": f'id: "{ANY_ID}"',
    r"replay_webhook_deliveries": 'ids: ["msg_nope"]',
    r"retry_tickets": f'ids: ["{ANY_ID}"]',
}
#: query roots whose required arguments are not ids
QUERY_ARGS = {"request_form": f'item: {{asset_id: "{ANY_ID}"}}'}


def _call(name: str, field: Any, mutation: bool) -> str:
    if mutation:
        args = next(a for pattern, a in MUTATION_ARGS.items() if re.fullmatch(pattern, name))
    elif name in QUERY_ARGS:
        args = QUERY_ARGS[name]
    else:
        args = ", ".join(
            f'{a}: "{ANY_ID}"' for a, arg in field.args.items() if isinstance(arg.type, GraphQLNonNull)
        )
    call = f"{name}({args})" if args else name
    selection = " { __typename }" if isinstance(get_named_type(field.type), GraphQLObjectType) else ""
    return f"{'mutation' if mutation else 'query'} {{ {call}{selection} }}"


def test_every_root_field_and_mutation_passes_the_door(gateway: Gateway) -> None:
    config = gateway.config
    reader = StoreReader(config.resolve(config.settings.store.path))
    security = make_security(config, reader)
    checked, skipped = 0, []
    mutations_seen: set[str] = set()
    queries_seen: set[str] = set()
    for role, access in sorted(security.policy.roles.items()):
        schema = security.schemas.schema(access)
        roots = [(n, f, False) for n, f in schema._schema.query_type.fields.items()]  # type: ignore[union-attr]
        if schema._schema.mutation_type is not None:
            roots += [(n, f, True) for n, f in schema._schema.mutation_type.fields.items()]
        for name, field, mutation in roots:
            ctx = RequestContext(
                snapshot=reader.current(),  # type: ignore[arg-type]
                server=config.settings.server,
                actor={"role": role, "email": "alice@example.com"},
                access=access,
                writer=security.writer,
            )
            result = schema.execute_sync(_call(name, field, mutation), context_value=ctx)
            refused = any((e.extensions or {}).get("code") == "FORBIDDEN" for e in result.errors or [])
            checked += 1
            (mutations_seen if mutation else queries_seen).add(name)
            if name not in ctx.authorized and not refused:
                skipped.append(f"{role}.{name}: {result.errors or 'answered'}")
    assert skipped == []
    # the write path is in these schemas: updates, the desk, maintenance, sync
    expected = {
        "update_assets_by_pk",
        "insert_assets_one",
        "delete_assets",
        "checkout_assets",
        "log_maintenance",
        "submit_request",
        "approve_request",
        "reject_request",
        "cancel_request",
        "fulfil_request",
        "replay_webhook_deliveries",
        "retry_tickets",
    }
    assert expected <= mutations_seen
    assert {
        "requests",
        "request_form",
        "changes",
        "checkouts",
        "webhook_deliveries",
        "tickets",
    } <= queries_seen
    assert checked > 60
