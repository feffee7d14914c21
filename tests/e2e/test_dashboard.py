"""The dashboard over HTTP: logging in and out, every page, the numbers it shows against the
API's, who may see what, and the language switch."""

from __future__ import annotations

import dataclasses
import json
import re
from urllib.parse import urlencode

import pytest

from chalicelib.api import access
from chalicelib.store.api_keys import key_id
from tests.builders import lead, post_json


def login(client, key: str, next_: str = "/dashboard"):
    return client.http.post(
        "/dashboard/login",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=urlencode({"key": key, "next": next_}),
    )


def cookie_of(answer) -> str:
    header = answer.headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Strict" in header
    return header.split(";", 1)[0]


def page(client, path: str, cookie: str, **headers: str):
    return client.http.get(path, headers={"Cookie": cookie, **headers})


@pytest.fixture
def cookie(client, admin_key) -> str:
    answer = login(client, admin_key)
    assert answer.status_code == 303 and answer.headers["Location"] == "/dashboard"
    return cookie_of(answer)


@pytest.fixture
def data(client, journeys):
    for person in ("ada", "grace", "linus"):
        assert post_json(client, lead(email=f"{person}@example.com")).status_code == 201
    journeys.settle()
    journeys.deliver()
    journeys.settle()


def test_a_page_without_a_session_sends_the_browser_to_log_in(client):
    answer = client.http.get("/dashboard/campaigns?model=u_shaped")
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith("/dashboard/login?next=%2Fdashboard%2Fcampaigns")
    form = client.http.get("/dashboard/login")
    assert form.status_code == 200 and 'name="key"' in form.body.decode()


def test_a_wrong_key_is_refused_on_the_page_and_next_never_leaves_the_dashboard(
    client, admin_key, svc
):
    answer = login(client, "lf_wrong")
    assert answer.status_code == 403 and "unknown, revoked or expired" in answer.body.decode()
    assert login(client, admin_key, "https://evil.example/").headers["Location"] == "/dashboard"
    assert login(client, admin_key, "//evil.example").headers["Location"] == "/dashboard"


def test_each_role_sees_only_the_pages_it_may_open(client, svc):
    from chalicelib.roles import ROLES, Caller

    pages = ("funnel", "sales", "contacts")
    scope = {"sales": {"owner": "ada"}, "sales_manager": {"team": "inbound"}}
    for role in ROLES:
        key = svc.api_keys.create(role, role, **scope.get(role, {}))
        answer = login(client, key)
        assert answer.status_code == 303, (role, answer.body)
        headers = {"Cookie": answer.headers["Set-Cookie"].split(";")[0]}
        home = client.http.get("/dashboard", headers=headers)
        caller = Caller(role, team="inbound")
        for page in pages:
            shown = client.http.get(f"/dashboard/{page}", headers=headers)
            allowed = caller.may(access.DASHBOARD[page])
            assert shown.status_code == (200 if allowed else 403), (role, page)
            assert (f'href="/dashboard/{page}?' in home.body.decode()) == allowed, (role, page)


def test_every_page_renders_and_the_overview_shows_the_api_s_numbers(
    client, cookie, admin_key, data
):
    for path in (
        "/dashboard",
        "/dashboard/funnel",
        "/dashboard/campaigns?model=w_shaped",
        "/dashboard/campaigns/playbook-2026",
        "/dashboard/channels",
        "/dashboard/journeys",
        "/dashboard/journeys/whitepaper",
        "/dashboard/emails?by=journey",
        "/dashboard/broadcasts",
        "/dashboard/broadcasts/webinar-invite",
        "/dashboard/segments",
        "/dashboard/sales",
        "/dashboard/contacts?q=grace",
    ):
        answer = page(client, path, cookie)
        assert answer.status_code == 200, (path, answer.body[:300])
        html = answer.body.decode()
        assert any(part in html for part in ("<svg", "<table", "hbars", 'class="card kpi"')), path
    html = page(client, "/dashboard", cookie).body.decode()
    api = json.loads(client.http.get("/reports/overview", headers={"X-Api-Key": admin_key}).body)
    contacts = next(k["value"] for k in api["kpis"] if k["kpi"] == "contacts")
    shown = re.search(r'data-kpi="contacts">.*?class="value">([^<]+)<', html, re.S).group(1)
    assert int(shown.replace(",", "")) == contacts == 3
    journey = page(client, "/dashboard/journeys/whitepaper", cookie).body.decode()
    assert re.search(r'data-kpi="entered">.*?class="value">3<', journey, re.S)
    found = page(client, "/dashboard/contacts?q=grace", cookie).body.decode()
    assert "grace@example.com" in found and "ada@example.com" not in found
    link = re.search(r'href="(/dashboard/contacts/ct_[0-9a-f]+)"', found).group(1)
    assert "form_submitted" in page(client, link, cookie).body.decode()


def test_a_contact_s_page_is_headed_by_its_name_however_the_form_gave_it(client, cookie):
    """A Chinese form asks for one 姓名 (`name`), not a first and a last name."""
    posted = client.http.post(
        "/forms/newsletter/submissions",
        body=json.dumps({"email": "li@example.cn", "name": "李雷", "consent": True}),
        headers={"Content-Type": "application/json"},
    )
    assert posted.status_code == 201, posted.body
    found = page(client, "/dashboard/contacts?q=li%40example.cn", cookie).body.decode()
    link = re.search(r'href="(/dashboard/contacts/ct_[0-9a-f]+)"', found).group(1)
    heading = re.search(r"<h1>(.*?)</h1>", page(client, link, cookie).body.decode()).group(1)
    assert heading == '李雷 <span class="muted">li@example.cn</span>'


def test_a_viewer_reads_reports_but_no_contact(client, svc):
    viewer = cookie_of(login(client, svc.api_keys.create("board", "viewer")))
    assert page(client, "/dashboard/campaigns", viewer).status_code == 200
    refused = page(client, "/dashboard/contacts", viewer)
    assert refused.status_code == 403 and "cannot open the Contacts page" in refused.body.decode()
    assert "/dashboard/contacts" not in page(client, "/dashboard", viewer).body.decode()


def test_revoking_the_key_ends_its_sessions_and_log_out_needs_the_form_s_token(client, svc):
    key = svc.api_keys.create("temp", "admin")
    cookie = cookie_of(login(client, key))
    html = page(client, "/dashboard", cookie).body.decode()
    token = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    form = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    forged = client.http.post("/dashboard/logout", headers=form, body=urlencode({"csrf": "x"}))
    assert forged.status_code == 403
    out = client.http.post("/dashboard/logout", headers=form, body=urlencode({"csrf": token}))
    assert out.status_code == 303 and "Max-Age=0" in out.headers["Set-Cookie"]
    assert svc.api_keys.revoke(key_id(key))
    assert page(client, "/dashboard", cookie).status_code == 303  # back to the login


def test_the_dashboard_speaks_chinese_to_a_chinese_browser_and_switches(client, cookie):
    zh = page(client, "/dashboard/funnel", cookie, **{"Accept-Language": "zh-CN,zh;q=0.9"})
    assert "漏斗" in zh.body.decode() and 'lang="zh-CN"' in zh.body.decode()
    en = page(client, "/dashboard/funnel?lang=en", cookie, **{"Accept-Language": "zh-CN"})
    assert "Funnel" in en.body.decode() and "lf_lang=en" in en.headers["Set-Cookie"]
    assert page(client, "/dashboard/nowhere", cookie).status_code == 404


def test_behind_an_api_gateway_stage_every_link_and_the_cookie_carry_its_path(
    client, svc, admin_key
):
    svc.settings = dataclasses.replace(
        svc.settings, public_url="https://abc.execute-api.example.com/api"
    )
    answer = login(client, admin_key, "/api/dashboard/sales")
    assert answer.headers["Location"] == "/api/dashboard/sales"
    assert "Path=/api/dashboard;" in answer.headers["Set-Cookie"]
    html = page(client, "/dashboard/funnel", cookie_of(answer)).body.decode()
    assert 'action="/api/dashboard/logout"' in html and 'href="/api/dashboard/campaigns?' in html
    assert (
        login(client, admin_key, "/api/dashboard\r\nSet-Cookie: x=1").headers["Location"]
        == "/api/dashboard"
    )


def test_the_period_shown_is_the_shortcut_marked_chosen(client, cookie):
    def chosen(path: str) -> list[str]:
        html = page(client, path, cookie).body.decode()
        return re.findall(r'class="on">([^<]+)</a>', html.split('<span class="chips">')[1])

    assert chosen("/dashboard/funnel") == ["Last 30 days"]  # the default period
    assert chosen("/dashboard/funnel?days=7") == ["Last 7 days"]
    assert chosen("/dashboard/funnel?from=2025-12-01&to=2025-12-10") == []


def test_a_contact_s_lead_reads_as_a_salesperson_would_say_it(client, cookie, svc):
    from chalicelib.store.models import ContactModel

    assert post_json(client, lead(email="hot@example.com")).status_code == 201
    cid = svc.contacts.find_by_email("hot@example.com")
    routed = {
        "status": "accepted",
        "owner": "ada",
        "owner_name": "Ada Park",
        "owner_email": "ada.park@example.com",
        "team": "inbound",
        "rule": "fallback",
        "reason": "Downloaded the playbook",
        "assigned_at": "2026-01-05T09:00:00+00:00",
        "sla_due_at": "2026-01-05T11:00:00+00:00",
        "accepted_at": "2026-01-05T09:20:41.123456+00:00",
        "previous_owners": ["ben"],
    }
    ContactModel(cid).update(actions=[ContactModel.lead.set(routed)])
    html = page(client, f"/dashboard/contacts/{cid}", cookie).body.decode()
    box = html.split("<h2>Lead</h2>")[1].split("</dl>")[0]
    shown = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", box))
    assert shown["Owner"] == 'Ada Park <span class="muted">ada.park@example.com</span>'
    assert shown["Accepted"] == "2026-01-05 09:20" and shown["Before"] == "ben"
    assert "owner_name" not in box and "Owner Ada Park" in html
    pooled = {**routed, "status": "pool", "accepted_at": None}
    del pooled["owner"]  # as the dispatcher leaves a lead it puts back in the pool
    ContactModel(cid).update(actions=[ContactModel.lead.set(pooled)])
    html = page(client, f"/dashboard/contacts/{cid}", cookie).body.decode()
    assert "Owner –" in html and "accept by" not in html


def test_a_journey_s_steps_say_where_they_go_where_it_is_not_the_step_below(client, cookie):
    html = page(client, "/dashboard/journeys/whitepaper", cookie).body.decode()

    def card(step: str) -> str:
        return html.split(f'data-step="{step}"')[1].split('<div class="step"')[0]

    assert "→ demo-offer" in card("clicked-case-study") and "→ nurture-roi" in card(
        "clicked-case-study"
    )
    assert "→ completed" in card("handed-over")
    assert '<div class="arrow">↓</div>' not in card("handed-over")  # no way down to nurture
    assert '<div class="arrow">↓</div>' in card("thank-you")


def test_a_segment_s_size_chart_says_its_scale(client, cookie, data):
    html = page(client, "/dashboard/segments", cookie).body.decode()
    card = html.split('data-segment="subscribers"')[1].split('<div class="card"')[0]
    low, high = re.search(r"<span data-range>(\d+)–(\d+)</span>", card).groups()
    assert int(low) <= int(high) == 3  # the three subscribers of `data`, at the period's end


def test_a_manager_assigns_a_pool_lead_from_its_page(client, svc, journeys, tmp_path):
    """The sales page's pool count lists the pool; a contact's page gives its lead to one of
    the manager's own owners; a stale form and a refusal say why."""
    from tests.integration.test_handoff import ROUTING, hot, publish_sales

    one = ROUTING.replace("      - {id: ben, name: Ben Ortiz, email: ben.ortiz@example.com}\n", "")
    desk = publish_sales(journeys, tmp_path / "marketing", one)
    cid = hot(client, desk)
    desk.later(hours=2, minutes=1)  # Ada let it lapse: the pool
    (tmp_path / "marketing" / "routing.yaml").write_text(ROUTING)
    desk.publish(tmp_path / "marketing")
    manager = svc.api_keys.create("Morgan", "sales_manager", team="inbound")
    cookie = cookie_of(login(client, manager))

    sales = page(client, "/dashboard/sales", cookie).body.decode()
    pool = page(client, "/dashboard/contacts?lead=pool", cookie).body.decode()
    html = page(client, f"/dashboard/contacts/{cid}", cookie).body.decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    options = re.findall(r'<option value="([a-z-]+)"', html.split('class="assign"')[1])

    def post(**fields: str):
        return client.http.post(
            f"/dashboard/contacts/{cid}",
            headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
            body=urlencode(fields),
        )

    stale = post(csrf="forged", owner="ben")
    refused = post(csrf=csrf, owner="")
    done = post(csrf=csrf, owner="ben", reason="knows them", was="")
    raced = post(csrf=csrf, owner="ada", was="")  # a second manager's page, opened before

    assert re.search(r'href="/dashboard/contacts\?[^"]*lead=pool">1</a>', sales)
    assert f"/dashboard/contacts/{cid}" in pool and "In the shared pool" in pool
    assert options == ["ada", "ben"]  # the manager's team only: not zhang-wei
    assert stale.status_code == 403
    assert refused.status_code == 422 and "owner: is required" in refused.body.decode()
    assert done.status_code == 303 and done.headers["Location"] == f"/dashboard/contacts/{cid}"
    assert raced.status_code == 409 and "now with ben" in raced.body.decode()
    assert 'name="was" value=""' in html  # the page says whom it showed
    lead = svc.contacts.get(cid)["lead"]
    assert (lead["owner"], lead["status"], lead["reason"]) == ("ben", "assigned", "knows them")
    audited = client.http.get("/audit", headers={"X-Api-Key": svc.api_keys.create("a", "admin")})
    (entry,) = [e for e in audited.json_body["entries"] if e["target"].endswith(cid)]
    assert (
        entry["actor"]["name"] == "Morgan" and entry["details"]["after"]["lead"]["owner"] == "ben"
    )
    after = page(client, f"/dashboard/contacts/{cid}", cookie).body.decode()
    assert "Ben Ortiz" in after and "ada → pool" in after  # the lapse, on the timeline


def test_only_a_manager_or_an_admin_gets_the_assign_form(client, svc, cookie):
    assert post_json(client, lead(email="quiet@example.com")).status_code == 201
    cid = svc.contacts.find_by_email("quiet@example.com")
    marketer = cookie_of(login(client, svc.api_keys.create("Mia", "marketer")))

    shown = page(client, f"/dashboard/contacts/{cid}", marketer).body.decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', shown).group(1)
    posted = client.http.post(
        f"/dashboard/contacts/{cid}",
        headers={"Cookie": marketer, "Content-Type": "application/x-www-form-urlencoded"},
        body=urlencode({"csrf": csrf, "owner": "ada"}),
    )

    assert 'class="assign"' not in shown
    assert posted.status_code == 403
    assert "lead" not in svc.contacts.get(cid) or not svc.contacts.get(cid).get("lead")
