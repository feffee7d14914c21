"""API keys: named, listed without the key, expiring and revocable; an expired or revoked key
is refused like an unknown one."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.cli import main


def _status(client, key: str) -> int:
    return client.http.get("/contacts?limit=1", headers={"X-Api-Key": key}).status_code


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
    assert f"{keys['ops']['id']}  revoked  admin   ops" in out
    assert "expired  viewer  contractor until" in out


def test_a_key_cannot_be_made_already_expired(svc, clock, capsys):
    assert main(["keys", "create", "--name", "x", "--expires-in", "0s"]) == 2
    assert "longer than zero" in capsys.readouterr().err
    assert main(["keys", "create", "--name", "x", "--expires-in", "90d"]) == 0
    created = capsys.readouterr().out.strip()
    assert created.startswith("lf_")
    (listed,) = svc.api_keys.list()
    assert listed["expires_at"] == clock.now() + timedelta(days=90)
