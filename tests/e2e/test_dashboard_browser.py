"""The dashboard in a real browser: headless Chromium logs in, opens the overview, a campaign,
a journey and a contact, checks the numbers it shows against the API's, and saves a
screenshot of each page (to $LEADFLOW_SCREENSHOTS when set, as docs/reports.md's are made).

It runs where Debian's Chromium is installed (`.ci/run` installs it when it can) and says
why it skips where it is not.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import app
from chalicelib.events import DEAL_WON
from chalicelib.local import gateway
from tests.builders import lead, post_json

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium here: install Debian's chromium to run the browser test"
)
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def site(svc, client, journeys, clock) -> Iterator[str]:
    """The API on a local port, as the stack serves it, with a few weeks of leads and a deal."""
    for i, (person, utm) in enumerate(
        [("ada", "playbook"), ("grace", "newsletter-cn"), ("linus", "playbook"), ("wei", None)]
    ):
        body = lead(email=f"{person}@example.com", utm_campaign=utm)
        assert post_json(client, body).status_code == 201
        journeys.later(days=1 + i)
    journeys.deliver()
    ada = svc.contacts.find_by_key("email:ada@example.com")
    journeys.event(ada, DEAL_WON, amount=4200, currency="USD")
    server = gateway.server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server.server_port}"
    server.server.shutdown()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("LEADFLOW_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def api(client, path: str, key: str) -> dict:
    answer = client.http.get(path, headers={"X-Api-Key": key})
    assert answer.status_code == 200, answer.body
    return json.loads(answer.body)


def number(text: str) -> float:
    return float(text.strip().replace(",", ""))


def test_a_browser_logs_in_and_sees_the_api_s_numbers(site, client, admin_key, shots, svc):
    playwright = pytest.importorskip("playwright.sync_api")
    period = "from=2025-12-07&to=2026-01-15"
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{site}/dashboard?{period}")
        assert "/dashboard/login" in page.url  # no session yet
        page.fill("#key", admin_key)
        page.click("button")
        page.wait_for_url(f"{site}/dashboard?{period}")
        page.screenshot(path=str(shots / "dashboard-overview.png"), full_page=True)
        overview = api(client, f"/reports/overview?{period}", admin_key)
        for kpi in overview["kpis"]:
            shown = page.inner_text(f'[data-kpi="{kpi["kpi"]}"] .value')
            assert number(shown) == pytest.approx(kpi["value"]), kpi["kpi"]

        page.goto(f"{site}/dashboard/campaigns?{period}&model=linear")
        page.screenshot(path=str(shots / "dashboard-campaigns.png"), full_page=True)
        page.click('[data-campaign="playbook-2026"] a')
        page.wait_for_selector('[data-kpi="credited_revenue"]')
        campaign = api(client, f"/reports/campaigns/playbook-2026?{period}", admin_key)
        shown = page.inner_text('[data-kpi="credited_revenue"] .value')
        assert number(shown) == campaign["campaign"]["credited_revenue"] == 4200
        page.screenshot(path=str(shots / "dashboard-campaign.png"), full_page=True)

        page.goto(f"{site}/dashboard/journeys/whitepaper?{period}")
        journey = api(client, f"/reports/journeys/whitepaper?{period}", admin_key)
        assert number(page.inner_text('[data-kpi="entered"] .value')) == journey["entered"] == 4
        for step in journey["steps"]:
            box = f'[data-step="{step["step"]}"]'
            assert number(page.inner_text(f"{box} [data-entered]")) == step["entered"]
            assert number(page.inner_text(f"{box} [data-waiting]")) == step["waiting_now"]
        page.screenshot(path=str(shots / "dashboard-journey.png"), full_page=True)

        page.goto(f"{site}/dashboard/contacts?q=ada")
        page.click("text=ada@example.com")
        page.wait_for_selector("text=deal_won")
        assert "ada@example.com" in page.inner_text("h1")
        page.screenshot(path=str(shots / "dashboard-contact.png"), full_page=True)

        phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
        phone.context.add_cookies(page.context.cookies())
        phone.goto(f"{site}/dashboard/funnel?{period}", wait_until="load")
        phone.set_extra_http_headers({"Accept-Language": "zh-CN"})
        phone.goto(f"{site}/dashboard/funnel?{period}")
        assert "漏斗" in phone.inner_text("h1")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390 + 1, "the page fits a phone's width"
        phone.screenshot(path=str(shots / "dashboard-funnel-phone.png"), full_page=True)
        browser.close()
