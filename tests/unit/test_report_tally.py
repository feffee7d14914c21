"""What each event adds to the report counters, campaigns' spend over a period, and the
figures reports compute from counters; all pure."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from chalicelib import events as ev
from chalicelib.reports import figures, histogram, tally
from chalicelib.reports.campaigns import CampaignBook
from chalicelib.reports.credit import Touch
from chalicelib.reports.period import Period, PeriodError

NOW = datetime(2026, 11, 5, 12, tzinfo=UTC)


def event(kind: str, event_id: str = "e1", touch: dict | None = None, **props) -> ev.Event:
    return ev.Event("ct_1", event_id, kind, NOW, "test", props, touch)


def pairs(counts: list[tally.Count]) -> set[tuple[str, str]]:
    return {(c.scope, c.metric) for c in counts}


SUBJECT = tally.Subject(
    campaign="playbook",
    channel="paid_search",
    source="google",
    cohort="2026-11",
    owner="ada",
    team="inbound",
)
SUBJECT_CHINA = tally.Subject(**{**SUBJECT.__dict__, "owner": "wei", "team": "china"})
"""The same contact after its lead moved to another team."""


def test_an_open_counts_under_the_email_s_journey_step_template_and_everything():
    opened = event(
        ev.EMAIL_OPENED,
        journey="whitepaper",
        step="thank-you",
        template="playbook-thank-you",
        unique=True,
    )
    scopes = {
        "all",
        "channel#email",
        "journey#whitepaper",
        "step#whitepaper#thank-you",
        "template#playbook-thank-you",
    }
    assert pairs(tally.counts(opened, tally.Subject())) == {
        (s, m) for s in scopes for m in ("opens", "opens_unique")
    }
    again = event(ev.EMAIL_OPENED, broadcast="webinar", unique=False)
    assert pairs(tally.counts(again, tally.Subject())) == {
        ("all", "opens"),
        ("channel#email", "opens"),
        ("broadcast#webinar", "opens"),
    }
    machine = event(ev.EMAIL_OPENED, broadcast="webinar", unique=True, machine=True)
    assert {c.metric for c in tally.counts(machine, tally.Subject())} == {"opens_machine"}


def test_a_branch_counts_the_path_the_engine_took():
    taken = event(ev.BRANCH_TAKEN, journey="demo", step="engaged", path="case 2", goto="offer")
    default = event(ev.BRANCH_TAKEN, journey="demo", step="engaged", path="otherwise")
    scope = tally.journey("demo")
    assert pairs(tally.counts(taken, tally.Subject())) == {(scope, "branch:engaged:case 2")}
    assert pairs(tally.counts(default, tally.Subject())) == {(scope, "branch:engaged:otherwise")}


def test_a_bounce_is_hard_when_it_suppressed_the_address():
    hard = event(ev.EMAIL_BOUNCED, suppressed="hard_bounce")
    soft = event(ev.EMAIL_BOUNCED)
    assert {c.metric for c in tally.counts(hard, tally.Subject())} == {"bounced_hard"}
    assert {c.metric for c in tally.counts(soft, tally.Subject())} == {"bounced_soft"}


def test_a_new_contact_counts_under_its_first_touch_and_cohort():
    first = event(
        ev.FORM_SUBMITTED,
        "e1",
        {"campaign": "Playbook", "channel": "paid_search", "source": "google"},
    )
    subject = tally.Subject(**{**SUBJECT.__dict__, "created_by_event": "e1"})
    got = pairs(tally.counts(first, subject))
    assert ("campaign#playbook", "contacts") in got and ("cohort#2026-11", "contacts") in got
    assert ("campaign#playbook", "submissions") in got and ("all", "submissions") in got
    later = event(ev.FORM_SUBMITTED, "e2", {"campaign": "webinar", "channel": "email"})
    assert {c.metric for c in tally.counts(later, subject)} == {"submissions"}


def test_a_stage_reached_counts_the_rungs_it_skipped_and_the_time_spent_below():
    jump = event(ev.STAGE_CHANGED, **{"from": "lead", "to": "sql"})
    subject = tally.Subject(campaign="playbook", stage_since=NOW - timedelta(hours=3))
    counts = tally.counts(jump, subject)
    reached = {c.metric for c in counts if c.scope == "campaign#playbook"}
    assert reached == {"stage:mql", "stage:sql"}
    assert ("all", "stage_minutes:lead:240") in pairs(counts)  # 180 minutes: the 240 bucket


def test_a_deal_counts_revenue_in_its_currency_and_credit_under_every_model():
    touches = (
        Touch(NOW - timedelta(days=4), "playbook", "paid_search", lead=True),
        Touch(NOW, "webinar", "email"),
    )
    subject = tally.Subject(campaign="playbook", owner="ada", touches=touches)
    counts = tally.counts(event(ev.DEAL_WON, amount=700, currency="CNY"), subject)
    amounts = {(c.scope, c.metric): c.amount for c in counts}
    assert amounts[("all", "revenue@CNY")] == 700 and amounts[("owner#ada", "deals_won")] == 1
    assert amounts[("campaign#playbook", "credit:linear")] == Decimal("0.5")
    assert amounts[("campaign#webinar", "revenue:last_touch@CNY")] == 700
    assert amounts[("channel#paid_search", "revenue:first_touch@CNY")] == 700
    assert ("campaign#webinar", "credit:first_touch") not in amounts


def test_a_lead_accepted_keeps_its_minutes_in_a_histogram():
    counts = tally.counts(event(ev.LEAD_ACCEPTED, owner="ada", minutes_to_accept=12), SUBJECT)
    assert pairs(counts) >= {("owner#ada", "accepted"), ("team#inbound", "accept_minutes:15")}
    assert histogram.summary([0.5, 3, 12, 12, 100]) == (15, 120)


def test_spend_is_spread_over_its_days_and_rates_convert_revenue():
    book = CampaignBook.model_validate(
        {
            "currency": "USD",
            "exchange_rates": {"CNY": "0.14"},
            "campaigns": [
                {
                    "id": "a",
                    "utm_campaign": ["A", "a-2"],
                    "spend": [{"period": "2026-11", "amount": 3000}],
                },
                {
                    "id": "b",
                    "spend": [
                        {"period": date(2026, 11, 10), "amount": 70},
                        {"period": "2026-11-01/2026-11-10", "amount": 100},
                    ],
                },
            ],
        }
    )
    a, b = book.campaigns
    assert a.spent(date(2026, 11, 1), date(2026, 11, 10)) == 1000
    assert b.spent(date(2026, 11, 10), date(2026, 12, 31)) == 80
    assert book.owner_of(" A ") is a and a.keys == ["a", "a-2"]
    metrics = {"revenue@USD": Decimal(10), "revenue@CNY": Decimal(100), "revenue@JPY": Decimal(5)}
    assert figures.money(metrics, "revenue", book) == (Decimal("24.00"), {"JPY": Decimal("5.00")})


@pytest.mark.parametrize(
    ("campaigns", "message"),
    [
        ([{"id": "a"}, {"id": "a"}], "defined twice"),
        (
            [{"id": "a", "utm_campaign": ["x"]}, {"id": "b", "utm_campaign": ["X"]}],
            "belongs to both",
        ),
        ([{"id": "a", "spend": [{"period": "2026-13", "amount": 1}]}], "names no month"),
        ([{"id": "a", "spend": [{"period": "2026-11-09/2026-11-01", "amount": 1}]}], "ends before"),
        ([{"id": "a", "spend": [{"period": "last week", "amount": 1}]}], "is not a month"),
        ([{"id": "a", "spend": [{"period": "2026-11", "amount": -1}]}], "greater than or equal"),
    ],
)
def test_a_bad_campaign_book_says_what_is_wrong(campaigns, message):
    with pytest.raises(ValidationError, match=message):
        CampaignBook.model_validate({"campaigns": campaigns})


def test_the_funnel_converts_step_by_step_and_from_the_top():
    metrics = {
        "stage:subscriber": Decimal(200),
        "stage:lead": Decimal(100),
        "stage:mql": Decimal(25),
    }
    rows = figures.funnel(metrics)
    assert [(r["stage"], r["count"], r["next_step"], r["cumulative"]) for r in rows[:4]] == [
        ("subscriber", 200, None, 1.0),
        ("lead", 100, 0.5, 0.5),
        ("mql", 25, 0.25, 0.125),
        ("sql", 0, 0.0, 0.0),
    ]
    assert (
        figures.roi(Decimal(300), Decimal(100)) == 2.0
        and figures.roi(Decimal(5), Decimal(0)) is None
    )


def test_a_period_defaults_to_thirty_days_and_names_a_bad_date():
    period = Period.of(None, None, date(2026, 11, 30))
    assert (period.first, period.days, period.before().last) == (
        date(2026, 11, 1),
        30,
        date(2026, 10, 31),
    )
    with pytest.raises(PeriodError) as bad:
        Period.of("2026-02-30", None, date(2026, 11, 30))
    assert bad.value.field == "from"


def test_an_a_b_confidence_is_one_minus_a_two_proportion_test_s_p_value():
    # 12% against 15% opens over 1,000 sends each: z = 1.96, p = 0.05.
    assert figures.ab_confidence(150, 1000, 120, 1000) == pytest.approx(0.9504, abs=1e-4)
    assert figures.ab_confidence(100, 1000, 100, 1000) == 0.0
    assert figures.ab_confidence(3, 10, 5, 10) is None  # too few sends to say anything


def test_a_follow_up_overdue_counts_as_a_gap_for_its_owner_and_team():
    counts = tally.counts(event(ev.LEAD_FOLLOW_UP_DUE, owner="ada"), SUBJECT)
    assert pairs(counts) == {(s, "follow_up_gaps") for s in ("all", "owner#ada", "team#inbound")}


def test_the_pool_is_a_level_that_a_lead_enters_once_and_leaves_when_taken():
    into = tally.counts(event(ev.LEAD_UNASSIGNED, team="inbound", was="assigned"), SUBJECT)
    again = tally.counts(event(ev.LEAD_UNASSIGNED, team="inbound", was="pool"), SUBJECT)
    out = tally.counts(event(ev.LEAD_ASSIGNED, owner="ben", team="inbound", was="pool"), SUBJECT)
    level = lambda counts: {(c.scope, c.amount) for c in counts if c.metric == "pool" and c.gauge}  # noqa: E731
    assert level(into) == {("all", 1), ("team#inbound", 1)}
    assert level(again) == set()
    assert level(out) == {("all", -1), ("team#inbound", -1)}


def test_a_pool_lead_counts_in_the_pool_it_is_in():
    """Moved from one team's pool to another's (a hand-off naming a team), or taken by another
    team's owner: the level moves between the teams and the total stays."""
    level = lambda counts: {(c.scope, c.amount) for c in counts if c.metric == "pool" and c.gauge}  # noqa: E731
    moved = event(ev.LEAD_UNASSIGNED, team="china", was="pool", from_team="inbound")
    taken = event(ev.LEAD_ASSIGNED, owner="wei", team="china", was="pool", from_team="inbound")
    assert level(tally.counts(moved, SUBJECT)) == {("team#inbound", -1), ("team#china", 1)}
    assert level(tally.counts(taken, SUBJECT)) == {("all", -1), ("team#inbound", -1)}


@pytest.mark.parametrize(
    ("kind", "metric"), [(ev.LEAD_RECYCLED, "recycles"), (ev.LEAD_RELEASED, "released")]
)
def test_a_lead_that_left_its_owner_counts_with_the_team_it_left(kind, metric):
    counts = tally.counts(event(kind, owner="ada", team="inbound", to="wei"), SUBJECT_CHINA)
    assert pairs(counts) == {(s, metric) for s in ("all", "owner#ada", "team#inbound")}


def test_speed_to_lead_runs_from_the_form_post_to_the_accept():
    posted = tally.Subject(**{**SUBJECT.__dict__, "posted_at": NOW - timedelta(minutes=40)})
    counts = tally.counts(event(ev.LEAD_ACCEPTED, owner="ada", minutes_to_accept=3), posted)
    assert ("owner#ada", "lead_minutes:60") in pairs(counts)  # 40 minutes: the 60 bucket
    assert ("owner#ada", "accept_minutes:5") in pairs(counts)  # 3 minutes after the hand-off


def test_an_exit_counts_by_its_kind_never_by_a_contact_s_data():
    exited = event(ev.JOURNEY_EXITED, journey="j", reason="exit goal: email is 'ada@example.com'")
    assert {c.metric for c in tally.counts(exited, tally.Subject())} == {
        "exited",
        "exited:exit goal",
    }


def test_a_recycle_counts_for_the_owner_who_let_the_lead_lapse():
    moved = tally.Subject(**{**SUBJECT.__dict__, "owner": "ben"})  # the lead is ben's now
    counts = tally.counts(event(ev.LEAD_RECYCLED, owner="ada", to="ben"), moved)
    assert ("owner#ada", "recycles") in pairs(counts) and ("owner#ben", "recycles") not in pairs(
        counts
    )


def test_a_visitor_s_long_campaign_name_is_cut_before_it_names_a_scope():
    assert len(tally.campaign("x" * 500)) == len("campaign#") + tally.NAME_CHARS


def test_a_period_before_2000_is_refused_by_name():
    with pytest.raises(PeriodError) as bad:
        Period.of("0001-01-01", "0001-01-01", date(2026, 11, 30))
    assert bad.value.field == "from"


def test_a_contact_moved_back_and_up_again_is_one_in_the_funnel():
    back_up = event(ev.STAGE_CHANGED, **{"from": "mql", "to": "sql"})
    seen = tally.Subject(
        campaign="playbook", reached_before=frozenset({"subscriber", "lead", "mql", "sql"})
    )
    assert not [c for c in tally.counts(back_up, seen) if c.metric.startswith("stage:")]
    first = tally.Subject(
        campaign="playbook", reached_before=frozenset({"subscriber", "lead", "mql"})
    )
    assert {c.metric for c in tally.counts(back_up, first) if c.scope == "all"} >= {"stage:sql"}
