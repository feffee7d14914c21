"""The segments admin API: sizes for admins and viewers; members and reasons for admins only."""

from __future__ import annotations

import json

from tests.builders import lead, post_json


def _get(client, path: str, key: str):
    return client.http.get(path, headers={"X-Api-Key": key})


def _clicker(client, svc, journeys) -> str:
    assert post_json(client, lead()).status_code == 201
    journeys.settle()
    ada = svc.contacts.find_by_key("email:ada@example.com")
    journeys.event(ada, "email_opened", unique=True)
    return ada


def test_admins_see_sizes_members_and_why(client, svc, journeys, admin_key):
    ada = _clicker(client, svc, journeys)

    listed = json.loads(_get(client, "/segments", admin_key).body)
    members = json.loads(_get(client, "/segments/engaged-readers/members", admin_key).body)
    why = json.loads(
        _get(client, "/segments/engaged-readers/explain?email=ADA@example.com", admin_key).body
    )

    sizes = {s["id"]: (s["kind"], s["size"]) for s in listed["segments"]}
    assert sizes["engaged-readers"] == ("dynamic", 1) and sizes["vip-list"] == ("list", 0)
    assert [m["contact_id"] for m in members["members"]] == [ada]
    assert members["members"][0]["email"] == "ada@example.com" and members["next"] is None
    assert (why["inside"], why["holds"]) == (True, True)
    assert why["reason"] == "email_opened/email_clicked within 30d: 1 found"


def test_members_come_a_page_at_a_time(client, svc, journeys, admin_key):
    for name in ("ada", "bob", "cy"):
        assert post_json(client, lead(email=f"{name}@example.com")).status_code == 201
    journeys.settle()
    for contact_id in svc.contacts.all_ids():
        journeys.event(contact_id, "email_clicked", url="https://example.com")

    first = json.loads(_get(client, "/segments/engaged-readers/members?limit=2", admin_key).body)
    rest = json.loads(
        _get(
            client, f"/segments/engaged-readers/members?limit=2&after={first['next']}", admin_key
        ).body
    )

    seen = [m["contact_id"] for m in first["members"] + rest["members"]]
    assert len(first["members"]) == 2 and rest["next"] is None
    assert sorted(seen) == seen and len(set(seen)) == 3 == first["size"]


def test_a_viewer_sees_sizes_but_no_members_and_bad_input_names_the_field(client, svc):
    viewer = svc.api_keys.create("reports", "viewer")
    admin = svc.api_keys.create("admin", "admin")

    assert _get(client, "/segments", viewer).status_code == 200
    assert _get(client, "/segments/dormant/members", viewer).status_code == 403
    assert _get(client, "/segments/nope/members", admin).status_code == 404
    bad = _get(client, "/segments/dormant/members?limit=0", admin)
    assert bad.status_code == 422 and "limit" in bad.body.decode()
    missing = _get(client, "/segments/dormant/explain", admin)
    assert missing.status_code == 422 and "email" in missing.body.decode()
    assert _get(client, "/segments", "wrong").status_code == 401


def test_a_list_changes_by_hand_through_the_api_and_a_segment_does_not(client, svc, journeys):
    admin = svc.api_keys.create("admin", "admin")
    assert post_json(client, lead()).status_code == 201
    journeys.settle()
    ada = svc.contacts.find_by_key("email:ada@example.com")

    def post(path: str, body: dict):
        return client.http.post(
            path,
            headers={"X-Api-Key": admin, "Content-Type": "application/json"},
            body=json.dumps(body),
        )

    added = post("/segments/vip-list/members", {"email": "ADA@example.com"})
    again = post("/segments/vip-list/members", {"contact_id": ada})
    dynamic = post("/segments/dormant/members", {"email": "ada@example.com"})
    typo = post("/segments/vip-list/members", {"emial": "ada@example.com"})
    removed = client.http.delete(f"/segments/vip-list/members/{ada}", headers={"X-Api-Key": admin})

    assert (added.status_code, json.loads(added.body)["added"]) == (201, True)
    assert (again.status_code, json.loads(again.body)["added"]) == (200, False)
    assert dynamic.status_code == 409 and "dynamic" in dynamic.body.decode()
    assert typo.status_code == 422 and "emial" in typo.body.decode()
    assert json.loads(removed.body) == {"segment": "vip-list", "contact_id": ada, "removed": True}
    assert svc.members.size("vip-list") == 0
