"""Leads moved by hand: a manager assigns one to a named owner (from the shared pool, or from
another owner), and an owner gives one back to be routed again. On the real pipeline and the
embedded AWS, with a fake clock."""

from __future__ import annotations

import json

import pytest

from chalicelib.store.counters import Counters, open_leads_key
from tests.builders import Journeys
from tests.integration.test_handoff import ROUTING, hot, outbox, publish_sales, types

ONE_OWNER = ROUTING.replace(
    "      - {id: ben, name: Ben Ortiz, email: ben.ortiz@example.com}\n", ""
)


def _post(client, cid: str, action: str, key: str, body: dict):
    return client.http.post(
        f"/leads/{cid}/{action}",
        headers={"X-Api-Key": key, "Content-Type": "application/json"},
        body=json.dumps(body),
    )


def _events(svc, cid: str, kind: str):
    return [e for e in svc.events.timeline(cid, limit=500, newest_first=False) if e.type == kind]


@pytest.fixture
def sales(journeys: Journeys, tmp_path) -> Journeys:
    return publish_sales(journeys, tmp_path / "marketing")


@pytest.fixture
def pooled(client, journeys, svc, tmp_path):
    """A lead in the shared pool: its only owner let the SLA lapse; then Ben joins the team."""
    desk = publish_sales(journeys, tmp_path / "marketing", ONE_OWNER)
    cid = hot(client, desk)
    desk.later(hours=2, minutes=1)
    assert svc.contacts.get(cid)["lead"]["status"] == "pool"
    (tmp_path / "marketing" / "routing.yaml").write_text(ROUTING)
    desk.publish(tmp_path / "marketing")
    return desk, cid


def test_a_manager_assigns_a_pool_lead_to_a_named_owner(client, svc, pooled):
    sales, cid = pooled
    manager = svc.api_keys.create("Morgan", "sales_manager", team="inbound")

    answer = _post(client, cid, "assign", manager, {"owner": "ben", "reason": "knows them"})

    assert answer.status_code == 200, answer.body
    lead = svc.contacts.get(cid)["lead"]
    assert answer.json_body["lead"] == lead
    assert (lead["status"], lead["owner"], lead["rule"]) == ("assigned", "ben", "by hand")
    assert lead["reason"] == "knows them" and lead["previous_owners"] == ["ada"]
    (assigned,) = _events(svc, cid, "lead_assigned")[-1:]
    assert assigned.properties["was"] == "pool" and assigned.properties["owner"] == "ben"
    assert "lead_reassigned" not in types(svc, cid)  # nobody held it
    assert Counters().value(open_leads_key("ben")) == 1
    sales.settle()
    sales.deliver()
    assert any(m.recipient == "ben.ortiz@example.com" for m in outbox(svc))
    report = client.http.get("/reports/sales", headers={"X-Api-Key": manager}).json_body
    (team,) = [r for r in report["rows"] if r["kind"] == "team"]
    assert team["in_pool_now"] == 0, team
    # The new SLA clock runs: Ben lets it lapse and nobody is left who has not had it.
    sales.later(hours=2, minutes=1)
    assert svc.contacts.get(cid)["lead"]["status"] == "pool"


def test_an_admin_moves_an_accepted_lead_to_another_owner(client, sales, svc, admin_key):
    cid = hot(client, sales)
    first = svc.contacts.get(cid)["lead"]["owner"]
    other = "ben" if first == "ada" else "ada"
    assert _post(client, cid, "accept", admin_key, {}).status_code == 200

    answer = _post(client, cid, "assign", admin_key, {"owner": other})

    assert answer.status_code == 200, answer.body
    lead = svc.contacts.get(cid)["lead"]
    assert (lead["status"], lead["owner"], lead["previous_owners"]) == ("assigned", other, [first])
    assert lead["reason"] == "assigned by test admin"
    (moved,) = _events(svc, cid, "lead_reassigned")
    assert (moved.properties["owner"], moved.properties["to"]) == (first, other)
    assert Counters().value(open_leads_key(first)) == 0
    assert Counters().value(open_leads_key(other)) == 1
    sales.settle()
    sales.deliver()
    told = [m for m in outbox(svc) if m.subject.startswith("Moved to")]
    assert [m.recipient for m in told] == [
        f"{'ada.park' if first == 'ada' else 'ben.ortiz'}@example.com"
    ]
    assert "by test admin" in told[0].subject
    assert "/accept/" not in told[0].html  # nothing there accepts for the new owner
    # The first owner's old SLA clock no longer counts: only the new owner's runs out.
    sales.later(hours=2, minutes=1)
    assert _events(svc, cid, "lead_recycled")[0].properties["owner"] == other


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 422, "owner"),
        ({"owner": "nobody"}, 422, "owner"),
        ({"owner": "zhang-wei"}, 422, "owner"),  # another team's: not the manager's to give
    ],
)
def test_an_assignment_names_what_is_wrong(client, sales, svc, body, status, field):
    cid = hot(client, sales)
    manager = svc.api_keys.create("Morgan", "sales_manager", team="inbound")
    before = svc.contacts.get(cid)

    answer = _post(client, cid, "assign", manager, body)

    assert answer.status_code == status, answer.body
    assert [e["field"] for e in answer.json_body["fields"]] == [field]
    assert svc.contacts.get(cid)["version"] == before["version"]


def test_an_assignment_refuses_what_does_not_fit_the_lead(client, sales, svc, admin_key, tmp_path):
    cid = hot(client, sales)
    owner = svc.contacts.get(cid)["lead"]["owner"]
    same = _post(client, cid, "assign", admin_key, {"owner": owner})
    key = svc.api_keys.create("owner's phone", "sales", owner)
    by_sales = _post(client, cid, "assign", key, {"owner": "zhang-wei"})
    assert _post(client, cid, "lost", admin_key, {"reason": "budget"}).status_code == 200
    closed = _post(client, cid, "assign", admin_key, {"owner": "zhang-wei"})

    assert same.status_code == 409 and "already with" in same.json_body["message"]
    assert by_sales.status_code == 403
    assert closed.status_code == 409 and "lost" in closed.json_body["message"]
    assert "lead_reassigned" not in types(svc, cid)


def test_an_owner_at_capacity_is_refused(client, sales, svc, admin_key, tmp_path):
    folder = tmp_path / "marketing"
    (folder / "routing.yaml").write_text(
        ROUTING.replace(
            "email: zhang.wei@example.com}", "email: zhang.wei@example.com, capacity: 1}"
        )
    )
    sales.publish(folder)
    china = hot(client, sales, email="li@example.cn", country="CN")
    assert svc.contacts.get(china)["lead"]["owner"] == "zhang-wei"
    cid = hot(client, sales)
    before = svc.contacts.get(cid)

    answer = _post(client, cid, "assign", admin_key, {"owner": "zhang-wei"})

    assert answer.status_code == 409 and "capacity" in answer.json_body["message"]
    assert svc.contacts.get(cid)["lead"] == before["lead"]
    assert Counters().value(open_leads_key("zhang-wei")) == 1


def test_an_owner_gives_a_lead_back_and_it_is_routed_again(client, sales, svc):
    cid = hot(client, sales)
    first = svc.contacts.get(cid)["lead"]["owner"]
    key = svc.api_keys.create("owner's phone", "sales", first)

    answer = _post(client, cid, "release", key, {"reason": "a competitor's employee"})

    assert answer.status_code == 200, answer.body
    assert answer.json_body["lead"] == {"status": "assigned", "released": True}  # not to whom
    lead = svc.contacts.get(cid)["lead"]
    assert lead["owner"] != first and lead["status"] == "assigned"
    assert lead["previous_owners"] == [first]
    (released,) = _events(svc, cid, "lead_released")
    assert answer.json_body["event_id"] == released.event_id
    assert released.properties["reason"] == "a competitor's employee"
    assert released.properties["to"] == lead["owner"]
    assert Counters().value(open_leads_key(first)) == 0
    sales.settle()
    sales.deliver()
    subjects = {m.recipient: m.subject for m in outbox(svc)}
    assert subjects["morgan@example.com"].startswith("Given back:")
    (told,) = [m for m in outbox(svc) if m.recipient == "morgan@example.com"]
    assert "/accept/" not in told.html  # nothing there accepts for the new owner
    assert "a competitor's employee" in subjects["morgan@example.com"]
    admin = svc.api_keys.create("report reader", "admin")
    report = client.http.get("/reports/sales", headers={"X-Api-Key": admin}).json_body
    released = {r["name"]: r["released"] for r in report["rows"] if r["kind"] == "owner"}
    assert released[first] == 1 and sum(released.values()) == 1
    # The sales key no longer holds it: a second release is "no such contact".
    assert _post(client, cid, "release", key, {"reason": "again"}).status_code == 404


def test_a_lead_given_back_with_nobody_else_waits_in_the_pool(client, journeys, svc, tmp_path):
    desk = publish_sales(journeys, tmp_path / "marketing", ONE_OWNER)
    cid = hot(client, desk)
    key = svc.api_keys.create("Ada's phone", "sales", "ada")
    missing = _post(client, cid, "release", key, {})

    answer = _post(client, cid, "release", key, {"reason": "on leave"})

    assert missing.status_code == 422
    assert [e["field"] for e in missing.json_body["fields"]] == ["reason"]
    assert answer.status_code == 200, answer.body
    assert answer.json_body["lead"]["status"] == "pool"
    (released,) = _events(svc, cid, "lead_released")
    assert released.properties["to"] is None
    (pooled,) = _events(svc, cid, "lead_unassigned")
    assert pooled.properties["was"] == "assigned"  # counted into the pool by the report
    assert Counters().value(open_leads_key("ada")) == 0


def test_the_contact_list_finds_the_shared_pool(client, svc, pooled, admin_key):
    _desk, cid = pooled
    headers = {"X-Api-Key": admin_key}

    pool = client.http.get("/contacts?lead=pool", headers=headers)
    assigned = client.http.get("/contacts?lead=assigned", headers=headers)
    wrong = client.http.get("/contacts?lead=stuck", headers=headers)

    assert [(r["id"], r["lead"]) for r in pool.json_body["contacts"]] == [(cid, "pool")]
    assert assigned.json_body["contacts"] == []
    assert wrong.status_code == 422 and wrong.json_body["fields"][0]["field"] == "lead"


def test_a_pool_lead_given_to_another_team_leaves_its_own_team_s_pool(
    client, svc, pooled, admin_key
):
    desk, cid = pooled
    assert _post(client, cid, "assign", admin_key, {"owner": "zhang-wei"}).status_code == 200
    desk.settle()

    report = client.http.get("/reports/sales", headers={"X-Api-Key": admin_key}).json_body

    pools = {r["name"]: r["in_pool_now"] for r in report["rows"] if r["kind"] in ("all", "team")}
    assert pools["(all)"] == 0 and pools.get("inbound", 0) == 0 and pools.get("china", 0) == 0


def test_a_lead_given_back_leaves_no_clock_of_its_owner_running(client, journeys, svc, tmp_path):
    """Released into the pool after an accept: neither the SLA nor the follow-up clock of the
    owner who gave it back fires later, so the report counts no breach and no gap."""
    desk = publish_sales(journeys, tmp_path / "marketing", ONE_OWNER)
    cid = hot(client, desk)
    admin = svc.api_keys.create("report reader", "admin")
    assert _post(client, cid, "accept", admin, {}).status_code == 200
    opened = _post(client, cid, "opportunity", admin, {"name": "Pilot", "amount": 900})
    assert opened.status_code == 200

    assert _post(client, cid, "release", admin, {"reason": "moving teams"}).status_code == 200
    desk.later(days=31)

    seen = types(svc, cid)
    assert "lead_sla_expired" not in seen and "lead_follow_up_due" not in seen
    lead = svc.contacts.get(cid)["lead"]
    assert lead["status"] == "pool" and lead["opportunity"]["name"] == "Pilot"
    assert not {"owner_name", "owner_email", "accepted_at", "sla_due_at"} & set(lead)
    (released,) = _events(svc, cid, "lead_released")
    assert released.properties["by"] == "report reader"
    assert lead["reason"].startswith("report reader gave Ada Park's lead back (moving teams)")
    report = client.http.get("/reports/sales", headers={"X-Api-Key": admin}).json_body
    (everyone,) = [r for r in report["rows"] if r["kind"] == "all"]
    assert (everyone["sla_breaches"], everyone["follow_up_gaps"]) == (0, 0)


def test_a_moved_accepted_lead_keeps_its_deal_and_stops_the_old_follow_up_clock(
    client, sales, svc, admin_key
):
    cid = hot(client, sales)
    first = svc.contacts.get(cid)["lead"]["owner"]
    other = "ben" if first == "ada" else "ada"
    assert _post(client, cid, "accept", admin_key, {}).status_code == 200
    assert _post(client, cid, "opportunity", admin_key, {"name": "Big"}).status_code == 200

    assert _post(client, cid, "assign", admin_key, {"owner": other}).status_code == 200
    assert _post(client, cid, "accept", admin_key, {}).status_code == 200
    sales.later(days=31)

    lead = svc.contacts.get(cid)["lead"]
    assert lead["opportunity"]["name"] == "Big" and lead["owner"] == other
    reminded = _events(svc, cid, "follow_up_reminded")
    assert [e.properties["owner"] for e in reminded] == [other]  # only the new owner's clock


def test_a_reason_of_blanks_is_no_reason(client, sales, svc, admin_key):
    cid = hot(client, sales)

    answer = _post(client, cid, "release", admin_key, {"reason": "   "})

    assert answer.status_code == 422
    assert [e["field"] for e in answer.json_body["fields"]] == ["reason"]


def test_a_sales_key_s_release_is_its_owner_s_whatever_the_body_says(client, sales, svc):
    cid = hot(client, sales)
    owner = svc.contacts.get(cid)["lead"]["owner"]
    key = svc.api_keys.create("owner's phone", "sales", owner)

    answer = _post(client, cid, "release", key, {"reason": "not mine", "owner": "somebody"})

    assert answer.status_code == 200, answer.body
    (released,) = _events(svc, cid, "lead_released")
    assert (released.properties["owner"], released.properties["by"]) == (owner, owner)


def test_previous_owners_name_each_owner_once_and_never_the_one_who_holds_it(
    client, svc, pooled, admin_key
):
    _desk, cid = pooled  # ada had it before

    to_ada = _post(client, cid, "assign", admin_key, {"owner": "ada"}).json_body["lead"]
    to_ben = _post(client, cid, "assign", admin_key, {"owner": "ben"}).json_body["lead"]
    to_ada_again = _post(client, cid, "assign", admin_key, {"owner": "ada"}).json_body["lead"]

    assert to_ada["previous_owners"] == []
    assert to_ben["previous_owners"] == ["ada"]
    assert to_ada_again["previous_owners"] == ["ben"]
