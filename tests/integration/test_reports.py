"""Reports on a known data set, through the real API and pipeline on the embedded AWS: the
counters match hand-computed values, every report equals a slow recomputation from the raw
events, and no report reads the event table."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from chalicelib import ids
from chalicelib.events import (
    DEAL_WON,
    EMAIL_SENT,
    FORM_SUBMITTED,
    JOURNEY_ENTERED,
    STAGE_CHANGED,
    Event,
)
from chalicelib.lifecycle import LADDER
from chalicelib.reports import tally
from chalicelib.reports.credit import Model, credit
from chalicelib.reports.touches import touches
from chalicelib.store import event_log, tables
from chalicelib.store.models import ContactModel, EnrollmentModel, EventModel, StatModel
from tests.builders import all_events, lead, post_json

START = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # a Monday
PERIOD = "from=2026-11-01&to=2026-11-30"


def get(client, path: str, key: str, **headers: str):
    return client.http.get(path, headers={"X-Api-Key": key, **headers})


def body(client, path: str, key: str) -> dict:
    answer = get(client, path, key)
    assert answer.status_code == 200, answer.body
    return json.loads(answer.body)


@pytest.fixture
def world(svc, client, journeys, clock, admin_key):
    """Three people arrive through two campaigns and no campaign; one comes back through the
    other; two of them buy (one in CNY); the thank-you emails go out."""
    clock.set(START)
    ada = lead(
        email="ada@example.com", utm_campaign="playbook", utm_source="google", utm_medium="cpc"
    )
    bo = lead(
        email="bo@example.com",
        utm_campaign="newsletter-cn",
        utm_source="zhihu",
        utm_medium="social",
    )
    cy = {k: v for k, v in lead(email="cy@example.com").items() if not k.startswith("utm_")}
    for person in (ada, bo, cy):
        assert post_json(client, person).status_code == 201
    journeys.settle()
    journeys.deliver()
    journeys.later(days=2)
    again = lead(
        email="ada@example.com",
        utm_campaign="newsletter-cn",
        utm_source="zhihu",
        utm_medium="social",
    )
    assert post_json(client, again).status_code in (200, 201)
    journeys.settle()
    journeys.later(days=2)
    ids = {p: svc.contacts.find_by_key(f"email:{p}@example.com") for p in ("ada", "bo", "cy")}
    journeys.event(ids["ada"], DEAL_WON, amount=1000, currency="USD")
    journeys.event(ids["bo"], DEAL_WON, amount=700, currency="CNY")
    journeys.deliver()
    journeys.settle()
    return ids


def test_campaigns_under_every_model_match_hand_computed_credit(client, admin_key, world):
    report = body(client, f"/reports/campaigns?{PERIOD}&model=linear", admin_key)
    rows = {r["campaign"]: r for r in report["rows"]}
    playbook, newsletter = rows["playbook-2026"], rows["newsletter-cn"]
    # Ada's deal: two touches, half each (linear); Bo's 700 CNY = 98 USD, all newsletter.
    assert playbook["credited_revenue"] == 500
    assert newsletter["credited_revenue"] == 500 + 98
    assert playbook["credited_deals"] == 0.5 and newsletter["credited_deals"] == 1.5
    # Spend: playbook 2,100 in November; newsletter 1,200 over 2026 (365 days), 30 in Nov.
    assert playbook["spend"] == 2100
    assert newsletter["spend"] == pytest.approx(float(Decimal(1200) * 30 / 365), abs=0.01)
    assert playbook["roi"] == pytest.approx((500 - 2100) / 2100, abs=1e-4)
    # Ada (utm playbook) and Cy (the form's default campaign) arrived through playbook-2026.
    assert playbook["contacts"] == 2 and newsletter["contacts"] == 1
    assert playbook["cost_per_lead"] is None or playbook["cost_per_lead"] > 0

    first = {
        r["campaign"]: r
        for r in body(client, f"/reports/campaigns?{PERIOD}&model=first_touch", admin_key)["rows"]
    }
    assert first["playbook-2026"]["credited_revenue"] == 1000
    decay = {
        r["campaign"]: r
        for r in body(client, f"/reports/campaigns?{PERIOD}&model=time_decay", admin_key)["rows"]
    }
    w1, w2 = 0.5 ** (4 / 7), 0.5 ** (2 / 7)  # touches 4 and 2 days before the deal
    assert decay["playbook-2026"]["credited_revenue"] == pytest.approx(
        1000 * w1 / (w1 + w2), abs=0.01
    )
    for model in Model:
        rows = body(client, f"/reports/campaigns?{PERIOD}&model={model}", admin_key)["rows"]
        assert sum(r["credited_deals"] for r in rows) == pytest.approx(2)  # one per deal
        assert sum(r["credited_revenue"] for r in rows) == pytest.approx(1098, abs=0.01)


def _slow_overview() -> dict[str, int]:
    """The overview's counts recomputed from every raw event of the table."""
    events = [event_log.from_model(e) for e in all_events()]
    contacts = {c.id: c for c in ContactModel.scan()}
    created = {c.created_by_event for c in contacts.values()}
    # A stage reached counts the rungs it skipped too, once per contact.
    reached: dict[str, set] = {}
    for e in (e for e in events if e.type == STAGE_CHANGED and e.properties["to"] in LADDER):
        before = e.properties.get("from")
        low = LADDER.index(before) + 1 if before in LADDER else 0
        reached.setdefault(e.contact_id, set()).update(
            LADDER[low : LADDER.index(e.properties["to"]) + 1]
        )
    stages = Counter(s for rungs in reached.values() for s in rungs)
    return {
        "contacts": sum(1 for e in events if e.event_id in created),
        "submissions": sum(1 for e in events if e.type == FORM_SUBMITTED),
        "emails_sent": sum(1 for e in events if e.type == EMAIL_SENT),
        "deals_won": sum(1 for e in events if e.type == DEAL_WON),
        **{str(s): stages[s] for s in LADDER},
        "entered": sum(
            1
            for e in events
            if e.type == JOURNEY_ENTERED and e.properties.get("journey") == "whitepaper"
        ),
    }


def _slow_credit(model: Model) -> dict[str, Decimal]:
    """Revenue per campaign key recomputed from the raw timeline of every buyer."""
    by_contact: dict[str, list] = {}
    for e in all_events():
        by_contact.setdefault(e.contact_id, []).append(event_log.from_model(e))
    found: Counter = Counter()
    for history in by_contact.values():
        for deal in (e for e in history if e.type == DEAL_WON):
            rate = Decimal("0.14") if deal.properties["currency"] == "CNY" else Decimal(1)
            amount = Decimal(str(deal.properties["amount"])) * rate
            for key, share in credit(
                touches(history, deal.occurred_at), model, deal.occurred_at
            ).items():
                found[key] += share * amount
    return found


def test_every_report_equals_a_slow_recomputation_and_reads_no_event(client, admin_key, world, svc):
    reads: list[str] = []

    def note(params, **_):
        reads.append(params.get("TableName", ""))

    events = tables.connection().client.meta.events
    events.register("before-call.dynamodb", note)
    try:
        overview = body(client, f"/reports/overview?{PERIOD}", admin_key)
        funnel = body(client, f"/reports/funnel?{PERIOD}", admin_key)
        journey = body(client, f"/reports/journeys/whitepaper?{PERIOD}", admin_key)
        campaigns = {
            m: body(client, f"/reports/campaigns?{PERIOD}&model={m}", admin_key) for m in Model
        }
        for path in ("channels", "emails", "sales", "cohorts", "campaigns/playbook-2026"):
            body(client, f"/reports/{path}?{PERIOD}", admin_key)
    finally:
        events.unregister("before-call.dynamodb", note)
    assert EventModel.Meta.table_name not in reads
    assert reads, "the reports read the counters"

    slow = _slow_overview()
    kpis = {k["kpi"]: k["value"] for k in overview["kpis"]}
    for name in ("contacts", "submissions", "emails_sent", "deals_won"):
        assert kpis[name] == slow[name], name
    assert slow["contacts"] == 3 and slow["submissions"] == 4 and slow["deals_won"] == 2
    assert [s["count"] for s in funnel["stages"]] == [slow[str(s)] for s in LADDER]
    assert journey["entered"] == slow["entered"] > 0
    # Where each enrollment is now, from the enrollments themselves; a step's counts add up.
    waiting = Counter(
        e.state
        for e in EnrollmentModel.scan()
        if e.journey_id == "whitepaper" and e.ended_at is None
    )
    steps = {s["step"]: s for s in journey["steps"]}
    assert {k: s["waiting_now"] for k, s in steps.items() if s["waiting_now"]} == dict(waiting)
    assert steps["thank-you"]["entered"] == 3 and steps["thank-you"]["sent"] == 3
    for s in journey["steps"]:
        assert s["entered"] == s["moved_on"] + s["exited_here"] + s["waiting_now"], s["step"]
    assert [s["step"] for s in journey["steps"]][:2] == ["thank-you", "pause"]
    assert overview["email"]["sent"] == slow["emails_sent"] > 0
    for model, report in campaigns.items():
        expected = _slow_credit(model)
        book = {"playbook": "playbook-2026", "playbook-2026": "playbook-2026"}
        per_campaign: Counter = Counter()
        for key, value in expected.items():
            per_campaign[book.get(key, key)] += value
        got = {
            r["campaign"]: r["credited_revenue"] for r in report["rows"] if r["credited_revenue"]
        }
        assert got == pytest.approx(
            {k: float(v) for k, v in per_campaign.items() if v}, abs=0.01
        ), model


def test_reports_answer_csv_and_name_bad_parameters(client, admin_key, world):
    answer = get(client, f"/reports/campaigns?{PERIOD}&format=csv", admin_key)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.body.decode("utf-8-sig"))))
    assert {r["campaign"] for r in rows} >= {"playbook-2026", "newsletter-cn"}
    for query, field in (
        ("from=2026-13-01", "from"),
        ("from=2026-11-30&to=2026-11-01", "from"),
        ("model=magic", "model"),
        ("colour=red", "colour"),
        ("format=pdf", "format"),
    ):
        answer = get(client, f"/reports/campaigns?{query}", admin_key)
        assert answer.status_code == 422, query
        assert field in answer.body.decode(), query
    assert get(client, "/reports/journeys/nope", admin_key).status_code == 404
    assert get(client, "/reports/overview", "wrong-key").status_code == 401


def _delivery(address: str, kind: str = "Delivery") -> dict:
    """An SES configuration-set event, with the tags the sender set on the message."""
    body = {"timestamp": "2026-01-05T09:00:05.000Z"}
    if kind == "Delivery":
        body["recipients"] = [address]
    else:
        body.update(bounceType="Permanent", bouncedRecipients=[{"emailAddress": address}])
    return {
        "eventType": kind,
        kind.lower(): body,
        "mail": {
            "messageId": f"m-{kind}",
            "timestamp": "2026-01-05T09:00:00.000Z",
            "tags": {
                "journey": ["whitepaper"],
                "step": ["thank-you"],
                "template": ["playbook-thank-you"],
                "broadcast": ["none"],
            },
        },
    }


def test_deliveries_bounces_and_machine_opens_count_under_their_email(
    client, svc, journeys, admin_key, ada
):
    svc.feedback.apply(_delivery("ada@example.com"))
    svc.feedback.apply(_delivery("ada@example.com", "Bounce"))
    html = svc.mailbox.read(svc.mailbox.names()[0]).get_body(("html",)).get_content()
    pixel = re.search(r'<img src="https://leads\.example\.com(/t/o/[^"]+)"', html).group(1)
    for agent in (
        "Mozilla/5.0",
        "Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 Mail/3774",
        "Mozilla/5.0 (Windows) Thunderbird/128.0",
    ):
        assert client.http.get(pixel, headers={"User-Agent": agent}).status_code == 200
    journeys.settle()
    day = svc.clock.now().date().isoformat()
    report = body(client, f"/reports/emails?from={day}&to={day}", admin_key)
    [row] = [r for r in report["rows"] if r["template"] == "playbook-thank-you"]
    assert (row["sent"], row["delivered"], row["bounced_hard"]) == (1, 1, 1)
    # Apple's proxy (the bare user agent) is a machine; two readers' programs: one unique.
    assert (row["opens_machine"], row["opens"], row["opens_unique"]) == (1, 2, 1)
    assert row["open_rate"] == 1.0
    journey = body(client, f"/reports/journeys/whitepaper?from={day}&to={day}", admin_key)
    [step] = [s for s in journey["steps"] if s["step"] == "thank-you"]
    assert step["delivered"] == 1 and journey["entered"] == 1


def _buckets(scope: str) -> list[str]:
    client = tables.connection().client
    found = client.query(
        TableName=StatModel.Meta.table_name,
        KeyConditionExpression="#s = :s",
        ExpressionAttributeNames={"#s": "scope"},
        ExpressionAttributeValues={":s": {"S": scope}},
    )
    return sorted(i["bucket"]["S"] for i in found["Items"])


def test_the_daily_roll_up_merges_shards_and_changes_no_report(
    client, admin_key, world, svc, clock
):
    paths = [
        f"/reports/overview?{PERIOD}",
        f"/reports/campaigns?{PERIOD}&model=u_shaped",
        f"/reports/journeys/whitepaper?{PERIOD}",
        f"/reports/sales?{PERIOD}",
    ]
    before = [body(client, p, admin_key) for p in paths]
    days = {b.split("#")[0] for b in _buckets("all") if not b.startswith("total")}
    assert len(days) >= 3
    for day in sorted(days):
        svc.rollup.roll(date.fromisoformat(day))
    assert all(b.endswith("#r") for b in _buckets("all") + _buckets("campaign#playbook"))
    journey = [b for b in _buckets(tally.journey("whitepaper")) if not b.startswith("total")]
    assert journey and all(b.endswith("#r") for b in journey)  # noted by its enrollments
    assert [body(client, p, admin_key) for p in paths] == before
    # A late count for a rolled day is a new shard, merged the next night; nothing is lost.
    late = datetime.fromisoformat(f"{min(days)}T12:00:00+00:00")
    bo = world["bo"]
    deal = {"amount": 100, "currency": "USD"}
    svc.events.append(Event(bo, ids.event_id(late), DEAL_WON, late, "test", deal))
    journeys_settled(svc)
    revenue = next(
        k["value"] for k in body(client, paths[0], admin_key)["kpis"] if k["kpi"] == "revenue"
    )
    assert revenue == pytest.approx(1098 + 100)
    clock.set(clock.now() + timedelta(days=1))
    svc.rollup.roll(late.date())
    assert all(b.endswith("#r") for b in _buckets("all") if b.startswith(min(days)))
    again = next(
        k["value"] for k in body(client, paths[0], admin_key)["kpis"] if k["kpi"] == "revenue"
    )
    assert again == revenue


def journeys_settled(svc) -> None:
    from tests.builders import Pipeline

    Pipeline(svc).drain()
