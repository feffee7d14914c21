"""API keys: named, listed without the key, expiring and revocable; an expired or revoked key
is refused like an unknown one."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.cli import main


def _status(client, key: str) -> int:
    return client.http.get("/reports/overview", headers={"X-Api-Key": key}).status_code


def test_an_expired_or_revoked_key_is_refused_and_listed_as_such(client, svc, clock, capsys):
    lasting = svc.api_keys.create("ops")
    brief = svc.api_keys.create("contractor", "viewer", expires_at=clock.now() + timedelta(days=1))
    assert _status(client, lasting) == _status(client, brief) == 200

    clock.advance(days=2)
    assert _status(client, brief) == 401  # the cached key expires on time too
    assert _status(client, lasting) == 200

    keys = {k["name"]: k for k in svc.api_keys.list()}
    assert keys["contractor"]["status"] == "expired" and keys["ops"]["status"] == "active"
    assert all(lasting not in str(k) and brief not in str(k) for k in keys.values())

    capsys.readouterr()
    assert main(["keys", "revoke", keys["ops"]["id"]]) == 0
    assert _status(client, lasting) == 401
    assert main(["keys", "revoke", keys["ops"]["id"]]) == 1  # once is enough
    assert main(["keys", "list"]) == 0
    out = capsys.readouterr().out
    assert f"{keys['ops']['id']}  revoked  admin         ops" in out
    assert "expired  viewer        contractor until" in out


def test_a_key_cannot_be_made_already_expired(svc, clock, capsys):
    assert main(["keys", "create", "--name", "x", "--expires-in", "0s"]) == 2
    assert "longer than zero" in capsys.readouterr().err
    assert main(["keys", "create", "--name", "x", "--expires-in", "90d"]) == 0
    created = capsys.readouterr().out.strip()
    assert created.startswith("lf_")
    (listed,) = svc.api_keys.list()
    assert listed["expires_at"] == clock.now() + timedelta(days=90)


def test_admins_manage_keys_through_the_api_and_nobody_else_can(client, svc, admin_key):
    import json

    headers = {"X-Api-Key": admin_key, "Content-Type": "application/json"}
    made = client.http.post(
        "/keys",
        headers=headers,
        body=json.dumps(
            {"name": "Ada's phone", "role": "sales", "owner": "ada", "expires_in": "30d"}
        ),
    )
    assert made.status_code == 201, made.body
    body = made.json_body
    assert body["key"].startswith("lf_") and body["status"] == "active" and body["owner"] == "ada"
    listed = client.http.get("/keys", headers={"X-Api-Key": admin_key}).json_body["keys"]
    assert body["id"] in {k["id"] for k in listed}
    assert all("key" not in k for k in listed)
    sales = {"X-Api-Key": body["key"]}
    assert client.http.get("/keys", headers=sales).status_code == 403
    bad = client.http.post(
        "/keys",
        headers=headers,
        body=json.dumps({"name": "", "role": "root", "owner": "nobody", "expires_in": "soon"}),
    )
    assert bad.status_code == 422
    assert {f["field"] for f in bad.json_body["fields"]} == {"name", "role", "owner", "expires_in"}
    gone = client.http.delete(f"/keys/{body['id']}", headers={"X-Api-Key": admin_key})
    assert gone.status_code == 200 and gone.json_body["status"] == "revoked"
    assert client.http.get("/reports/overview", headers=sales).status_code == 401
    again = client.http.delete(f"/keys/{body['id']}", headers={"X-Api-Key": admin_key})
    assert again.status_code == 404
