"""Every role against every route: a role is refused (403) exactly where chalicelib/roles.py
does not grant what the route table (chalicelib/api/access.py) says the route needs, a
request without a key is refused (401) on every route that needs one, and a sales manager
sees and works its own team's leads only."""

from __future__ import annotations

import json

import pytest

import app as application
from chalicelib import roles
from chalicelib.api import access
from chalicelib.api.dashboard.views import NAV
from chalicelib.roles import ROLES, Caller
from tests.integration.test_handoff import hot, sales  # noqa: F401  (the sales fixture)

PROTECTED = sorted((m, p) for (m, p), needed in access.ROUTES.items() if needed not in access.OPEN)
FILLED = {
    "{contact_id}": "ct_00000000000000000000000000000000",
    "{action}": "accept",
    "{job_id}": "job_missing",
    "{segment_id}": "vip-list",
    "{broadcast_id}": "webinar-invite",
    "{campaign_id}": "spring",
    "{journey_id}": "onboarding",
    "{key_id}": "0123456789ab",
    "{request_id}": "pr_0000000000000000",
}


def _request(client, method: str, path: str, key: str | None):
    for name, value in FILLED.items():
        path = path.replace(name, value)
    entry = application.app.routes[_route_of(method, path)][method]
    headers = {"Content-Type": entry.content_types[0]} if method in ("POST", "PUT") else {}
    if key is not None:
        headers["X-Api-Key"] = key
    body = "{}" if method in ("POST", "PUT") else None
    return client.http.request(method, path, headers=headers, body=body)


def _route_of(method: str, path: str) -> str:
    for (m, template), _ in access.ROUTES.items():
        filled = template
        for name, value in FILLED.items():
            filled = filled.replace(name, value)
        if m == method and filled == path:
            return template
    raise AssertionError(f"no route for {method} {path}")


def _key(svc, role: str) -> str:
    extra = {roles.SALES: {"owner": "ada"}, roles.SALES_MANAGER: {"team": "inbound"}}
    return svc.api_keys.create(f"a {role}", role, **extra.get(role, {}))


def test_the_table_names_every_route_the_app_serves_and_nothing_else():
    served = {(m, p) for p, entries in application.app.routes.items() for m in entries}

    assert served == set(access.ROUTES)
    assert set(access.ROUTES.values()) - access.OPEN <= set().union(*roles.GRANTS.values())
    assert set(access.DASHBOARD) == {name for name, _ in NAV}


def test_every_protected_route_refuses_a_request_without_a_key(client, sales):  # noqa: F811
    answers = {(m, p): _request(client, m, p, None).status_code for m, p in PROTECTED}

    assert set(answers.values()) == {401}, answers


@pytest.mark.parametrize("role", ROLES)
def test_each_role_is_refused_exactly_where_it_lacks_the_permission(client, svc, sales, role):  # noqa: F811
    key = _key(svc, role)
    caller = Caller(role, "ada" if role == roles.SALES else None, "inbound")
    wrong = []
    for method, path in PROTECTED:
        status = _request(client, method, path, key).status_code
        allowed = caller.may(access.ROUTES[(method, path)])
        if allowed == (status in (401, 403)):
            wrong.append((method, path, status, "should pass" if allowed else "should be 403"))
        elif not allowed:
            assert status == 403

    assert wrong == []


def _as(client, key: str, cid: str, action: str = "accept"):
    return client.http.post(
        f"/leads/{cid}/{action}",
        headers={"X-Api-Key": key, "Content-Type": "application/json"},
        body=json.dumps({}),
    )


def test_a_sales_manager_sees_and_works_its_teams_leads_and_nothing_else(client, svc, sales):  # noqa: F811
    cid = hot(client, sales)
    team = svc.contacts.get(cid)["lead"]["team"]
    mine = svc.api_keys.create("inbound lead", roles.SALES_MANAGER, team=team)
    other = svc.api_keys.create("china lead", roles.SALES_MANAGER, team="china")

    assert client.http.get(f"/contacts/{cid}", headers={"X-Api-Key": mine}).status_code == 200
    assert client.http.get(f"/contacts/{cid}", headers={"X-Api-Key": other}).status_code == 404
    listed = client.http.get("/contacts", headers={"X-Api-Key": other}).json_body["contacts"]
    assert cid not in [c["id"] for c in listed]
    before = svc.contacts.get(cid)["version"]
    assert _as(client, other, cid).status_code == 404
    assert svc.contacts.get(cid)["version"] == before
    accepted = _as(client, mine, cid)
    assert accepted.status_code == 200, accepted.body
    assert accepted.json_body["lead"]["status"] == "accepted"


def test_a_sales_managers_sales_report_has_its_team_only(client, svc, sales, admin_key):  # noqa: F811
    hot(client, sales)
    manager = svc.api_keys.create("inbound lead", roles.SALES_MANAGER, team="inbound")

    def names(key: str) -> set[tuple[str, str]]:
        body = client.http.get("/reports/sales", headers={"X-Api-Key": key}).json_body
        return {(r["kind"], r["name"]) for r in body["rows"]}

    everyone, team = names(admin_key), names(manager)
    assert ("all", "(all)") in everyone and ("all", "(all)") not in team
    assert {kind for kind, _ in team} <= {"team", "owner"}
    assert ("team", "inbound") in team
    assert {name for kind, name in team if kind == "owner"} <= {"ada", "ben"}
    assert team < everyone


def test_a_key_with_a_role_but_not_its_scope_is_refused(svc):
    with pytest.raises(ValueError, match="team"):
        svc.api_keys.create("no team", roles.SALES_MANAGER)
    with pytest.raises(ValueError, match="team"):
        svc.api_keys.create("stray team", roles.MARKETER, team="inbound")
