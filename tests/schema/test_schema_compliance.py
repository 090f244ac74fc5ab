"""`license_compliance` on the synced demo, through GraphQL, against the demo generator's own
truth: the seats its Microsoft 365 and Okta simulators sell and hand out, the people it made
leave, and the software it installed — worked out here from the generated estate, not read
back from the gateway.

Each product's needed seats are the larger of seats assigned and machines it is installed
on; the surplus is seats purchased minus that (see federation/pipeline/compliance.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from schema_estate import Runner

from federation.access.policy import compile_role
from federation.config.settings import Config, load_config
from federation.demo import prepare_demo
from federation.demo.estate import make_estate
from federation.demo.saas import m365, okta_apps, start_simulator
from federation.demo.software import installations
from federation.pipeline.sync import Syncer
from schema.build import build_schema
from schema.context import RequestContext

REPO = Path(__file__).resolve().parents[2]
N = 600
#: the demo's Microsoft 365 SKUs by the names people know them (Microsoft's list)
SKU_PRODUCTS = {
    "SPE_E3": "Microsoft 365 E3",
    "SPE_E5": "Microsoft 365 E5",
    "POWER_BI_PRO": "Power BI Pro",
    "VISIOCLIENT": "Visio Plan 2",
}
FIELDS = (
    "product vendor seats_purchased seats_assigned installed assigned_to_terminated seats_needed "
    "surplus status"
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """The repo's config.yaml on a 600-asset demo, synced once; its Okta and Microsoft 365
    simulators on a port of their own (another process may serve another estate on 8931)."""
    base = tmp_path_factory.mktemp("compliance")
    raw = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    raw["demo"].update(assets=N, vendor_port=0)
    seed = raw["demo"]["seed"]
    url = start_simulator(lambda: make_estate(seed, N), 0, estate_key=(seed, N))
    (base / "config.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ASSETGRAPH_DEMO_VENDORS", str(url))
        config = load_config(base / "config.yaml")
    prepare_demo(config)
    syncer = Syncer(config)
    try:
        report = syncer.run()
    finally:
        syncer.close()
    assert [(r.source, r.error) for r in report.failed] == []
    return config


@pytest.fixture(scope="module")
def runner(demo: Config) -> Runner:
    return Runner(demo.resolve(demo.settings.store.path), build_schema())


def truth(seed: int) -> dict[str, dict[str, Any]]:
    """Per licensed product, the figures as the generator made them."""
    estate = make_estate(seed, N)
    left = set(estate.people.loc[~estate.people["active"], "email"])
    out: dict[str, dict[str, Any]] = {}
    graph = m365(estate)
    email = {u["id"]: u["mail"] for u in graph.users}
    for sku in graph.skus:
        holders = {
            email[user]
            for user, details in graph.license_details.items()
            if any(d["skuPartNumber"] == sku["skuPartNumber"] for d in details)
        }
        out[SKU_PRODUCTS[sku["skuPartNumber"]]] = {
            "vendor": "Microsoft",
            "seats_purchased": sku["prepaidUnits"]["enabled"] + sku["prepaidUnits"]["warning"],
            "seats_assigned": sku["consumedUnits"],
            "assigned_to_terminated": len(holders & left),
        }
    apps, members = okta_apps(estate)
    for app in apps:
        holders = {m["profile"]["email"] for m in members[app["id"]]}
        out[app["label"]] = {
            "vendor": None,
            "seats_purchased": None,  # Okta knows who uses an app, not what was bought
            "seats_assigned": len(holders),
            "assigned_to_terminated": len(holders & left),
        }
    software = installations(estate)
    machines = software.dropna(subset=["product"]).groupby("product")["asset"].nunique()
    for product, row in out.items():
        row["product"] = product
        row["installed"] = int(machines.get(product, 0))
        row["seats_needed"] = max(row["seats_assigned"], row["installed"])
        bought = row["seats_purchased"]
        row["surplus"] = None if bought is None else bought - row["seats_needed"]
        surplus = row["surplus"]
        row["status"] = (
            "unknown" if surplus is None else "over_licensed" if surplus > 0
            else "under_licensed" if surplus < 0 else "compliant"
        )  # fmt: skip
    return out


def test_license_compliance_agrees_with_the_generators_truth(demo: Config, runner: Runner) -> None:
    data = runner.data(f"{{ license_compliance(order_by: {{product: asc}}) {{ {FIELDS} }} }}")
    expected = truth(demo.settings.demo.seed)
    assert [r["product"] for r in data["license_compliance"]] == sorted(expected)
    for row in data["license_compliance"]:
        assert row == expected[row["product"]], row["product"]


def test_the_demo_tells_over_and_under_licensing_apart(runner: Runner) -> None:
    data = runner.data("{ license_compliance { product status surplus assigned_to_terminated } }")
    status = {r["product"]: r["status"] for r in data["license_compliance"]}
    # seats bought to spare; seats handed out beyond those bought; installed beyond them
    assert status["Microsoft 365 E3"] == status["Microsoft 365 E5"] == "over_licensed"
    assert status["Power BI Pro"] == "under_licensed"
    assert status["Visio Plan 2"] == "under_licensed"
    assert status["Slack"] == status["Zoom"] == "unknown"
    # José Ñúñez left and still holds every Microsoft 365 SKU
    assert all(r["assigned_to_terminated"] >= 1 for r in data["license_compliance"])


def test_each_license_shows_installed_beside_its_seats(demo: Config, runner: Runner) -> None:
    data = runner.data(
        "{ licenses(order_by: {product: asc}) { product seats_purchased seats_assigned installed "
        "installations_aggregate { aggregate { count } } } }"
    )
    expected = truth(demo.settings.demo.seed)
    for row in data["licenses"]:
        assert row["installed"] == expected[row["product"]]["installed"], row["product"]
        # installations of the product are linked to its one license (Zoom twice on some PCs)
        assert row["installations_aggregate"]["aggregate"]["count"] >= row["installed"]


def test_every_installation_is_read_and_lands_on_an_asset(demo: Config, runner: Runner) -> None:
    data = runner.data(
        "{ all: software_installations_aggregate { aggregate { count } } "
        "lost: software_installations_aggregate(where: {asset_id: {_is_null: true}}) { aggregate { count } } "
        'visio: software_installations(where: {product: {_eq: "Visio Plan 2"}}, limit: 1) '
        "{ publisher source license { sku } asset { category } } }"
    )
    generated = installations(make_estate(demo.settings.demo.seed, N))
    assert data["all"]["aggregate"]["count"] == len(generated)
    assert data["lost"]["aggregate"]["count"] == 0
    [visio] = data["visio"]
    assert (visio["publisher"], visio["source"], visio["license"]) == (
        "Microsoft",
        "glpi",
        {"sku": "VISIOCLIENT"},
    )
    assert visio["asset"]["category"] in ("laptop", "desktop")


class RoleRunner(Runner):
    def __init__(self, runner: Runner, demo: Config, role: str, email: str) -> None:
        super().__init__(runner.reader.root, runner.schema)
        self.access = compile_role(role, demo.settings.roles or {})
        self.actor = {"role": role, "email": email}

    def context(self) -> RequestContext:
        snapshot = self.reader.current()
        assert snapshot is not None
        return RequestContext(snapshot=snapshot, server=self.server, actor=self.actor, access=self.access)


def test_an_employee_sees_the_software_of_their_own_machines_only(demo: Config, runner: Runner) -> None:
    owners = runner.data(
        "{ software_installations_aggregate { group_by(fields: [asset_id]) { keys count } } "
        "assets(where: {software_installations: {}, assigned_to: {}}, limit: 1000) "
        "{ id assigned_to { email } } }"
    )
    email = owners["assets"][0]["assigned_to"]["email"]
    own = {a["id"] for a in owners["assets"] if a["assigned_to"]["email"] == email}
    expected = sum(g["count"] for g in owners["software_installations_aggregate"]["group_by"]
                   if g["keys"]["asset_id"] in own)  # fmt: skip
    employee = RoleRunner(runner, demo, "employee", email)
    seen = employee.data(
        "{ software_installations(limit: 1000) { product asset { assigned_to { email } } } }"
    )
    assert len(seen["software_installations"]) == expected > 0
    assert {r["asset"]["assigned_to"]["email"] for r in seen["software_installations"]} == {email}
    error = employee.error("{ license_compliance { product } }")
    assert error.extensions["code"] in ("FORBIDDEN", "BAD_USER_INPUT")
