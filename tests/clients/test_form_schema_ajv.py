"""A request form's JSON Schema means the same in another language: the forms are fetched over
HTTP (`request_form`), each set of answers is submitted to the gateway (`submit_request`, whose
check is Python's `jsonschema`) and validated by `ajv` in Node (draft 2020-12 with
`ajv-formats`, what react-jsonschema-form validates with in the browser), and both must say the
same: valid or not, and which fields are wrong. Each case's verdict is also written out here,
so two validators wrong the same way fail too.

Needs `npm ci --prefix tests/clients` (.ci/run does it). Without node_modules the test is
skipped, except under CI=true, where it fails."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "requests"))

from request_gateway import ANN, RequestGateway, demo_forms, request_config  # noqa: E402
from support.serving import synced_and_served  # noqa: E402

#: a form of these tests beside the demo's laptop form: a pattern, an email, bounded integers,
#: a boolean that shows another field
PHONE = {
    "title": "Request a phone",
    "applies_to": {"category": "phone"},
    "fields": {
        "cost_center": {"type": "string", "label": "Cost centre", "required": True, "pattern": r"^CC-\d{4}$"},
        "contact": {"type": "email", "label": "Contact"},
        "quantity": {"type": "integer", "label": "How many", "min": 1, "max": 3, "default": 1},
        "roaming": {"type": "boolean", "label": "Roaming"},
        "countries": {"type": "text", "label": "Countries", "show_if": {"roaming": True},
                      "required_if": {"roaming": True}},
    },
    "fulfil": {"role": "service_desk"},
}  # fmt: skip
PURPOSE = "travelling to customer sites every week"
WHY = "video editing for the marketing team"
#: (form for the item, answers, valid, the fields wrong): `dear` costs 2,500 (over the
#: threshold: a justification is asked), `cheap` 900
CASES: dict[str, tuple[str, dict[str, Any], bool, list[str]]] = {
    "dear-complete": ("dear", {"purpose": PURPOSE, "justification": WHY}, True, []),
    "dear-empty": ("dear", {}, False, ["justification", "purpose"]),
    "dear-ship-without-address": ("dear", {"purpose": PURPOSE, "justification": WHY, "delivery": "ship"},
                                  False, ["shipping_address"]),
    "dear-ship-with-address": ("dear", {"purpose": PURPOSE, "justification": WHY, "delivery": "ship",
                                        "shipping_address": "1 Main St, Berlin"}, True, []),
    "dear-short-justification": ("dear", {"purpose": PURPOSE, "justification": "because"}, False,
                                 ["justification"]),
    "dear-unknown-delivery": ("dear", {"purpose": PURPOSE, "justification": WHY, "delivery": "drone"}, False,
                              ["delivery"]),
    "dear-no-such-day": ("dear", {"purpose": PURPOSE, "justification": WHY, "needed_by": "2031-02-30"},
                         False, ["needed_by"]),
    "dear-day-first-date": ("dear", {"purpose": PURPOSE, "justification": WHY, "needed_by": "31/01/2031"},
                            False, ["needed_by"]),
    "dear-a-date": ("dear", {"purpose": PURPOSE, "justification": WHY, "needed_by": "2031-01-31"}, True, []),
    "dear-unknown-field": ("dear", {"purpose": PURPOSE, "justification": WHY, "colour": "red"}, False,
                           ["colour"]),
    "dear-purpose-not-text": ("dear", {"purpose": 42, "justification": WHY}, False, ["purpose"]),
    "cheap-complete": ("cheap", {"purpose": PURPOSE}, True, []),
    "cheap-justification-not-asked": ("cheap", {"purpose": PURPOSE, "justification": WHY}, False,
                                      ["justification"]),
    "cheap-address-when-picking-up": ("cheap", {"purpose": PURPOSE, "shipping_address": "1 Main St"}, False,
                                      ["shipping_address"]),
    "phone-complete": ("phone", {"cost_center": "CC-1234", "contact": "ann@example.com", "quantity": 2},
                       True, []),
    "phone-bad-pattern": ("phone", {"cost_center": "CC-12"}, False, ["cost_center"]),
    # ECMA-262: `$` is the end of the text (Python's `$` also matches before a final newline)
    "phone-pattern-trailing-newline": ("phone", {"cost_center": "CC-1234\n"}, False, ["cost_center"]),
    # ECMA-262: `\d` is [0-9] (Python's `\d` also matches other scripts' digits)
    "phone-pattern-other-digits": ("phone", {"cost_center": "CC-\u0661\u0662\u0663\u0664"}, False,
                                   ["cost_center"]),
    "phone-email-without-at": ("phone", {"cost_center": "CC-1234", "contact": "ann at example.com"}, False,
                               ["contact"]),
    "phone-email-with-a-space": ("phone", {"cost_center": "CC-1234", "contact": "ann smith@example.com"},
                                 False, ["contact"]),
    "phone-too-many": ("phone", {"cost_center": "CC-1234", "quantity": 4}, False, ["quantity"]),
    "phone-half-a-phone": ("phone", {"cost_center": "CC-1234", "quantity": 1.5}, False, ["quantity"]),
    "phone-roaming-without-countries": ("phone", {"cost_center": "CC-1234", "roaming": True}, False,
                                        ["countries"]),
    "phone-countries-without-roaming": ("phone", {"cost_center": "CC-1234", "roaming": False,
                                                  "countries": "FR"}, False, ["countries"]),
    "phone-roaming": ("phone", {"cost_center": "CC-1234", "roaming": True, "countries": "FR, ES"}, True, []),
}  # fmt: skip
ITEMS = {"dear": "L-003", "cheap": "L-002", "phone": "P-005"}
FORM = "query($item: request_item!) { request_form(item: $item) }"
SUBMIT = """mutation($item: request_item!, $answers: jsonb!) {
  submit_request(item: $item, answers: $answers) { id } }"""


def _node_ready() -> None:
    reason = None
    if shutil.which("node") is None:
        reason = "node is not installed"
    elif not (HERE / "node_modules" / "ajv" / "dist" / "2020.js").is_file():
        reason = "tests/clients/node_modules is missing: run `npm ci --prefix tests/clients`"
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """case → {"server": {valid, fields}, "ajv": {valid, fields, errors}}."""
    _node_ready()
    folder = tmp_path_factory.mktemp("forms")
    config, db = request_config(folder, forms={**demo_forms(), "phone": PHONE})
    with synced_and_served(config) as http:
        gateway = RequestGateway(http, db, config)
        items = {name: {"asset_id": gateway.asset_id(tag)} for name, tag in ITEMS.items()}
        forms = {}
        for name, item in items.items():
            body = gateway.post("employee", ANN, FORM, item=item)
            assert "errors" not in body, body
            forms[name] = body["data"]["request_form"]["schema"]
        server = {}
        for case, (form, answers, _, _) in CASES.items():
            body = gateway.post("employee", ANN, SUBMIT, item=items[form], answers=answers)
            if body.get("errors"):
                [error] = body["errors"]
                assert error["extensions"]["code"] == "BAD_USER_INPUT", error
                fields = sorted({f["field"] for f in error["extensions"]["fields"]})
                server[case] = {"valid": False, "fields": fields}
            else:
                server[case] = {"valid": True, "fields": []}
    cases = [
        {"name": case, "form": form, "answers": answers} for case, (form, answers, _, _) in CASES.items()
    ]
    run = subprocess.run(
        ["node", str(HERE / "form_answers.mjs")],
        input=json.dumps({"forms": forms, "cases": cases}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    ajv = json.loads(run.stdout)
    return {case: {"server": server[case], "ajv": ajv[case]} for case in CASES}


@pytest.mark.parametrize("case", list(CASES))
def test_the_server_and_ajv_agree(verdicts: dict[str, dict[str, Any]], case: str) -> None:
    _, _, valid, fields = CASES[case]
    server, ajv = verdicts[case]["server"], verdicts[case]["ajv"]
    assert (ajv["valid"], ajv["fields"]) == (valid, fields), ajv["errors"]
    assert (server["valid"], server["fields"]) == (valid, fields)
