"""A sales key belongs to one owner: it sees and works that owner's leads and nothing else."""

from __future__ import annotations

import json

import pytest

from tests.integration.test_handoff import hot, sales  # noqa: F401  (the sales fixture)

ACTIONS = {
    "accept": {},
    "follow-ups": {"note": "Called"},
    "disqualify": {"reason": "student"},
    "opportunity": {"name": "Pilot"},
    "won": {"amount": "1200"},
    "lost": {"reason": "budget"},
    "fields": {"fields": {"contract_status": "signed"}},
    "release": {"reason": "not mine"},
}


def _post(client, cid: str, action: str, key: str, body: dict):
    return client.http.post(
        f"/leads/{cid}/{action}",
        headers={"X-Api-Key": key, "Content-Type": "application/json"},
        body=json.dumps(body),
    )


@pytest.fixture
def lead_and_keys(client, sales, svc):  # noqa: F811
    cid = hot(client, sales)
    owner = svc.contacts.get(cid)["lead"]["owner"]
    other = "ben" if owner == "ada" else "ada"
    keys = {
        "mine": svc.api_keys.create("owner's phone", "sales", owner),
        "theirs": svc.api_keys.create("colleague", "sales", other),
    }
    return cid, owner, keys


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_a_sales_key_cannot_act_on_another_owners_lead(client, svc, lead_and_keys, action):
    cid, _owner, keys = lead_and_keys
    before = svc.contacts.get(cid)

    answer = _post(client, cid, action, keys["theirs"], ACTIONS[action])

    assert answer.status_code == 404
    assert answer.json_body["error"] == "not_found"
    assert svc.contacts.get(cid)["version"] == before["version"]


def test_a_sales_key_gets_the_same_404_as_for_a_missing_contact(client, svc, lead_and_keys):
    cid, _owner, keys = lead_and_keys

    theirs = _post(client, cid, "accept", keys["theirs"], {})
    missing = _post(client, "c_does_not_exist", "accept", keys["theirs"], {})

    assert theirs.status_code == missing.status_code == 404
    assert theirs.json_body["message"].replace(cid, "X") == missing.json_body["message"].replace(
        "c_does_not_exist", "X"
    )


def test_a_sales_key_works_its_own_lead_and_is_recorded_as_its_owner(client, svc, lead_and_keys):
    cid, owner, keys = lead_and_keys

    accepted = _post(client, cid, "accept", keys["mine"], {"owner": "somebody-else"})
    edited = _post(client, cid, "fields", keys["mine"], ACTIONS["fields"])

    assert accepted.status_code == 200, accepted.body
    assert accepted.json_body["lead"]["status"] == "accepted"
    assert edited.status_code == 200
    update = next(e for e in svc.events.timeline(cid, limit=100) if e.type == "contact_updated")
    assert update.properties["by"] == owner


def test_a_sales_key_reads_only_its_own_leads(client, svc, lead_and_keys):
    cid, _owner, keys = lead_and_keys

    def read(key: str):
        one = client.http.get(f"/contacts/{cid}", headers={"X-Api-Key": key})
        found = client.http.get("/contacts?email=ada@example.com", headers={"X-Api-Key": key})
        return one.status_code, len(found.json_body["contacts"])

    assert read(keys["mine"]) == (200, 1)
    assert read(keys["theirs"]) == (404, 0)


def test_fields_cannot_change_who_the_contact_is(client, svc, lead_and_keys, admin_key):
    cid, _owner, _keys = lead_and_keys

    answer = _post(client, cid, "fields", admin_key, {"fields": {"email": "x@evil.example"}})

    assert answer.status_code == 422
    assert answer.json_body["fields"][0]["field"] == "fields.email"
    assert svc.contacts.get(cid)["email"] == "ada@example.com"


def test_a_sales_key_needs_an_owner(svc):
    with pytest.raises(ValueError, match="owner"):
        svc.api_keys.create("nobody's", "sales")


@pytest.mark.parametrize("contact_id", ["a" * 2049, "ü" * 1100])
def test_an_id_too_long_to_be_a_key_is_not_found_on_every_route(client, svc, admin_key, contact_id):
    key = {"X-Api-Key": admin_key}
    answers = [
        client.http.get(f"/contacts/{contact_id}", headers=key),
        _post(client, contact_id, "accept", admin_key, {}),
        client.http.get(f"/deliveries?key={contact_id}", headers=key),
        client.http.post(
            "/deliveries/replay",
            headers={**key, "Content-Type": "application/json"},
            body=json.dumps({"key": contact_id}),
        ),
    ]

    assert [a.status_code for a in answers] == [404, 404, 404, 409]


def test_an_empty_contact_id_is_not_found(client, svc, admin_key):
    assert _post(client, "", "accept", admin_key, {}).status_code == 404


def test_a_sales_key_without_an_owner_is_refused_everywhere(client, svc, lead_and_keys):
    from chalicelib.store.api_keys import digest
    from chalicelib.store.models import ApiKeyModel

    cid, _owner, _keys = lead_and_keys
    old = "lf_made_before_sales_keys_had_owners"
    ApiKeyModel(
        key_hash=digest(old), name="old", role="sales", prefix=old[:7], created_at=svc.clock.now()
    ).save()
    before = svc.contacts.get(cid)["version"]

    acted = _post(client, cid, "disqualify", old, {"reason": "spam"})
    read = client.http.get(f"/contacts/{cid}", headers={"X-Api-Key": old})

    assert (acted.status_code, read.status_code) == (403, 403)
    assert "--owner" in acted.json_body["message"]
    assert svc.contacts.get(cid)["version"] == before


def test_a_contact_limit_that_is_not_an_ascii_number_is_a_422(client, svc, admin_key):
    answer = client.http.get("/contacts/c_1?limit=%C2%B2", headers={"X-Api-Key": admin_key})

    assert answer.status_code == 422 and answer.json_body["fields"][0]["field"] == "limit"
