"""`make demo`'s story, played for four days on the test engine: people arrive through the
campaigns, the pipeline and the sender do their work, and the reports count what happened."""

from __future__ import annotations

from datetime import UTC, datetime

from app import app
from chalicelib.local.demo import Demo
from chalicelib.reports.period import Period


def test_a_week_of_the_demo_fills_the_reports(svc, clock):
    clock.set(datetime(2026, 11, 2, tzinfo=UTC))
    story = Demo(svc, app, clock, seed=7).play(days=4)
    assert story.contacts > 0 and story.emails > 0
    overview = svc.reports.overview(Period(datetime(2026, 11, 1).date(), clock.now().date()))
    kpis = {k["kpi"]: k["value"] for k in overview["kpis"]}
    assert kpis["contacts"] == story.contacts
    assert kpis["emails_sent"] == overview["email"]["sent"] > 0
    assert overview["email"]["opens_unique"] <= story.opens
