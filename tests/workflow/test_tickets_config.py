"""`tickets:` in config.yaml: which ServiceNow source opens the tickets, for which records, in
which tables; every mistake refused at load with the path of the key that holds it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from federation.config.settings import ConfigError, parse_config

ITSM = {"name": "itsm", "kind": "servicenow", "base_url": "https://example.service-now.com",
        "auth": {"type": "basic", "username": "bot", "password": "pw"},
        "entities": {"assets": None, "people": None, "locations": None}}  # fmt: skip
CMDB = {"name": "cmdb", "kind": "sql", "url": "sqlite:///cmdb.sqlite",
        "entities": {"assets": {"table": "ci", "id": "sys_id", "fields": {"asset_tag": "tag"}}}}  # fmt: skip
FORM = {"title": "Request a laptop", "applies_to": {"category": "laptop"},
        "fields": {"purpose": {"type": "text", "label": "Purpose"}}}  # fmt: skip


def parse(tmp_path: Path, tickets: Any, forms: dict[str, Any] | None = None) -> Any:
    raw: dict[str, Any] = {"store": {"path": "state"}, "sources": [ITSM, CMDB], "tickets": tickets}
    if forms is not None:
        raw["forms"] = forms
    return parse_config(raw, source="config.yaml", base_dir=tmp_path)


def test_the_defaults_open_both_kinds_in_servicenow_s_own_tables(tmp_path: Path) -> None:
    tickets = parse(tmp_path, {"source": "itsm"}).settings.tickets
    assert tickets.open_for == ["requests", "maintenance"]
    assert (tickets.requests.table, tickets.maintenance.table) == ("sc_request", "incident")
    assert (tickets.timeout.total_seconds(), tickets.max_attempts) == (10, 8)
    fields = {"category": "hardware", "assignment_group": "Service Desk"}
    raw = {"source": "itsm", "open_for": ["maintenance"], "timeout": "3s",
           "maintenance": {"table": "u_repairs", "fields": fields}}  # fmt: skip
    custom = parse(tmp_path, raw).settings.tickets
    assert custom.opens_for("maintenance")
    assert not custom.opens_for("requests")
    assert (custom.maintenance.table, custom.maintenance.fields) == ("u_repairs", fields)


def test_updates_default_to_servicenow_s_closing_states_and_may_be_changed_or_turned_off(
    tmp_path: Path,
) -> None:
    tickets = parse(tmp_path, {"source": "itsm"}).settings.tickets
    assert tickets.update_for("requests", "fulfilled") == {"request_state": "closed_complete", "state": 3}
    assert tickets.update_for("requests", "rejected")["request_state"] == "closed_rejected"
    assert tickets.update_for("requests", "cancelled")["request_state"] == "closed_cancelled"
    assert tickets.update_for("maintenance", "closed") == {
        "state": 6, "close_code": "Solution provided", "close_notes": "{summary}"
    }  # fmt: skip
    assert tickets.update_for("requests", "submitted") is None
    closing = {"close_code": "Solved (Permanently)", "close_notes": "{notes}"}
    raw = {"source": "itsm", "requests": {"table": "sc_request", "updates": {"approved": None}},
           "maintenance": {"table": "incident", "updates": {"closed": closing}}}  # fmt: skip
    custom = parse(tmp_path, raw).settings.tickets
    assert custom.update_for("requests", "approved") is None  # told nothing
    assert custom.update_for("requests", "fulfilled") == tickets.update_for("requests", "fulfilled")
    assert custom.update_for("maintenance", "closed") == {
        "close_code": "Solved (Permanently)",
        "close_notes": "{notes}",
    }


SN = {"source": "itsm"}
REQ, INC = {"table": "sc_request"}, {"table": "incident"}
GATEWAY_FIELD = {"table": "incident", "fields": {"correlation_id": 1}}
LAPTOP_TICKET = {"laptop": {**FORM, "ticket": True}}


@pytest.mark.parametrize(
    ("tickets", "forms", "message"),
    [
        pytest.param({"source": "snow"}, None,
                     "tickets.source: no source named 'snow'; expected one of itsm, cmdb",
                     id="no-such-source"),
        pytest.param({"source": "cmdb"}, None, "tickets.source: source 'cmdb' is of kind 'sql'",
                     id="not-servicenow"),
        pytest.param({**SN, "open_for": ["changes"]}, None,
                     "tickets.open_for[0]: Input should be 'requests' or 'maintenance'", id="open-for"),
        pytest.param({**SN, "open_for": []}, None, "tickets.open_for:", id="open-for-nothing"),
        pytest.param({**SN, "open_for": ["requests", "requests"]}, None,
                     "tickets.open_for: requests named twice", id="open-for-twice"),
        pytest.param({**SN, "requests": {"table": "sc request"}}, None, "tickets.requests.table:",
                     id="table-name"),
        pytest.param({**SN, "maintenance": GATEWAY_FIELD}, None,
                     "tickets.maintenance.fields: 'correlation_id' is written by the gateway",
                     id="gateway-field"),
        pytest.param({**SN, "requests": {**REQ, "updates": {"closed": {"state": 3}}}}, None,
                     "tickets.requests.updates.closed: Extra inputs are not permitted", id="update-state"),
        pytest.param({**SN, "maintenance": {**INC, "updates": {"closed": {"work_notes": "x"}}}},
                     None, "tickets.maintenance.updates.closed: 'work_notes' is written by the gateway",
                     id="update-gateway-field"),
        pytest.param({**SN, "requests": {**REQ, "updates": {"rejected": {"close_notes": "by {approver}"}}}},
                     None, "tickets.requests.updates.rejected: close_notes: {approver} is not known",
                     id="placeholder"),
        pytest.param({**SN, "requests": {**REQ, "updates": {"fulfilled": {"State": 3}}}}, None,
                     "tickets.requests.updates.fulfilled: 'State' is not a field name", id="field-name"),
        pytest.param({**SN, "maintenance": {**INC, "updates": {"closed": {"close_notes": "{"}}}},
                     None, "tickets.maintenance.updates.closed: close_notes: '{'", id="brace"),
        pytest.param({**SN, "timeout": "2h"}, None, "tickets.timeout:", id="timeout"),
        pytest.param({**SN, "max_attempts": 0}, None, "tickets.max_attempts:", id="attempts"),
        pytest.param({**SN, "assignee": "x"}, None, "tickets.assignee:", id="unknown-key"),
        pytest.param({**SN, "open_for": ["maintenance"]}, LAPTOP_TICKET,
                     "forms.laptop.ticket: no ticket is opened for requests (tickets.open_for does not name "
                     "requests)", id="form-wants-what-is-off"),
        pytest.param(None, LAPTOP_TICKET,
                     "forms.laptop.ticket: no ticket is opened for requests (there is no `tickets:` section)",
                     id="form-without-tickets"),
    ],
)  # fmt: skip
def test_a_bad_tickets_section_is_refused_with_its_path(
    tmp_path: Path, tickets: Any, forms: dict[str, Any] | None, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(tmp_path, tickets, forms)
    assert message in str(caught.value), str(caught.value)


def test_a_form_may_opt_out(tmp_path: Path) -> None:
    config = parse(tmp_path, {"source": "itsm"}, {"laptop": {**FORM, "ticket": False}})
    tickets, form = config.settings.tickets, config.settings.forms["laptop"]
    assert not tickets.opens_for("requests", form)
    assert tickets.opens_for("requests", form.model_copy(update={"ticket": None}))
