"""The audit log: every write through a key and every bulk read of personal data is recorded
with who, what, when, from where, the outcome and what changed; refusals too; nothing reads
it but an admin and nothing deletes it."""

from __future__ import annotations

import csv
import io
import json

from chalicelib import roles
from chalicelib.api import access
from chalicelib.cli import main
from chalicelib.store.api_keys import key_id


def _audit(client, key: str, **params: str) -> list[dict]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    answer = client.http.get(f"/audit?{query}", headers={"X-Api-Key": key})
    assert answer.status_code == 200, answer.body
    return answer.json_body["entries"]


def _create_key(client, key: str, body: dict):
    return client.http.post(
        "/keys",
        headers={"X-Api-Key": key, "Content-Type": "application/json"},
        body=json.dumps(body),
    )


def test_a_write_is_recorded_with_who_what_when_where_and_after(client, svc, clock, admin_key):
    made = _create_key(client, admin_key, {"name": "Reporting", "role": "viewer"})
    assert made.status_code == 201

    (entry,) = _audit(client, admin_key, action="POST /keys")

    assert entry["actor"] == {
        "kind": "key",
        "id": key_id(admin_key),
        "name": "test admin",
        "role": "admin",
    }
    assert entry["status"] == 201
    assert entry["target"] == "/keys"
    assert entry["source"]  # the client's address
    assert entry["at"].startswith(clock.now().date().isoformat())
    assert entry["details"]["after"]["role"] == "viewer"
    assert made.json_body["key"] not in json.dumps(entry)  # the key itself is never kept


def test_a_refused_write_is_recorded_and_can_be_filtered(client, svc, admin_key):
    viewer = svc.api_keys.create("wallboard", roles.VIEWER)

    refused = _create_key(client, viewer, {"name": "mine now", "role": "admin"})
    assert refused.status_code == 403
    revoked = client.http.delete("/keys/0123456789ab", headers={"X-Api-Key": admin_key})
    assert revoked.status_code == 404

    entries = _audit(client, admin_key, refused="1")
    assert [(e["actor"]["name"], e["action"], e["status"]) for e in entries] == [
        ("test admin", "DELETE /keys/{key_id}", 404),
        ("wallboard", "POST /keys", 403),
    ]
    assert entries[0]["target"] == "/keys/0123456789ab"
    assert entries[1]["details"]["refused"]["error"] == "forbidden"
    assert "viewer role may not" in entries[1]["details"]["refused"]["message"]
    assert [e["action"] for e in _audit(client, admin_key, actor="wallboard")] == ["POST /keys"]


def test_bulk_reads_of_people_are_recorded_and_single_reads_and_reports_are_not(
    client, svc, admin_key, ada
):
    headers = {"X-Api-Key": admin_key}
    assert client.http.get("/contacts?stage=lead&limit=5", headers=headers).status_code == 200
    assert client.http.get(f"/contacts/{ada}", headers=headers).status_code == 200
    assert client.http.get("/reports/overview", headers=headers).status_code == 200

    (entry,) = _audit(client, admin_key, action="GET /contacts")

    assert entry["details"]["query"] == {"stage": "lead", "limit": "5"}
    assert entry["details"]["returned"] >= 0
    assert entry["target"] == "/contacts"


def test_a_search_for_a_person_is_recorded_without_naming_them(client, admin_key, ada):
    headers = {"X-Api-Key": admin_key}
    assert client.http.get("/contacts?email=ada@example.com", headers=headers).status_code == 200
    assert client.http.get("/contacts?q=Lovelace&limit=5", headers=headers).status_code == 200

    entries = _audit(client, admin_key, action="GET /contacts")

    assert [e["details"]["query"] for e in entries] == [
        {"q": "(given)", "limit": "5"},
        {"email": "(given)"},
    ]


def test_requests_without_a_valid_key_name_nobody_and_are_not_recorded(client, admin_key):
    assert _create_key(client, "lf_not_a_key", {"name": "x"}).status_code == 401
    assert client.http.get("/contacts").status_code == 401

    assert [e for e in _audit(client, admin_key) if e["action"] != "GET /audit"] == []


def test_the_audit_log_is_read_only_and_exports_as_csv(client, admin_key):
    assert {m for (m, p) in access.ROUTES if p.startswith("/audit")} == {"GET"}
    _create_key(client, admin_key, {"name": "Reporting", "role": "viewer"})

    answer = client.http.get("/audit?format=csv&action=POST", headers={"X-Api-Key": admin_key})

    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.body.decode("utf-8-sig"))))
    assert [(r["actor_name"], r["action"], r["status"]) for r in rows] == [
        ("test admin", "POST /keys", "201")
    ]


def test_a_bad_filter_is_named(client, admin_key):
    answer = client.http.get("/audit?since=yesterday", headers={"X-Api-Key": admin_key})

    assert answer.status_code == 422
    assert answer.json_body["fields"][0]["field"] == "since"
    unknown = client.http.get("/audit?who=me", headers={"X-Api-Key": admin_key})
    assert unknown.status_code == 422


def test_cli_commands_that_write_are_recorded_under_the_machines_user(svc, capsys):
    assert main(["keys", "create", "--name", "ops", "--role", "marketer"]) == 0
    assert main(["keys", "list"]) == 0  # a list of keys is not personal data: not recorded
    capsys.readouterr()

    assert main(["audit", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)

    assert [e["action"] for e in entries] == ["cli keys create"]
    assert entries[0]["actor"]["kind"] == "cli"
    assert entries[0]["details"]["arguments"]["role"] == "marketer"
    assert main(["audit", "--action", "cli"]) == 0
    assert "cli keys create" in capsys.readouterr().out
