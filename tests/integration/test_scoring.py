"""Scoring on the real pipeline and the embedded AWS: reasons, caps, decay and stages, on a fake
clock."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.store.models import TimerModel
from tests.builders import Journeys, lead, post_json, track

SCORING = """
fit:
  - id: senior
    label: Senior title
    if: {field: job_title, matches: "(?i)director|总监"}
    points: 20
  - id: free-mail
    if: {field: email_domain, in: [gmail.com, qq.com]}
    points: -10
engagement:
  - id: pricing
    label: Looked at pricing
    event: page_viewed
    matches: {url: "/pricing"}
    points: 15
    cap: {points: 30, per: week}
  - id: whitepaper
    event: form_submitted
    where: {form_id: whitepaper}
    points: 10
decay:
  half_life: 14d
stages:
  lead: 5
  mql: 40
  sql: 70
"""


@pytest.fixture
def scored(journeys: Journeys, tmp_path, svc) -> Journeys:
    folder = tmp_path / "marketing"
    folder.mkdir()
    (folder / "scoring.yaml").write_text(SCORING)
    journeys.publish(folder)
    return journeys


def _submit(client, scored: Journeys, **fields: Any) -> str:
    answer = post_json(client, lead(**fields))
    assert answer.status_code in (201, 303), answer.body
    scored.settle()
    found = scored.svc.contacts.find_by_key(f"email:{fields.get('email', 'ada@example.com')}")
    assert found is not None
    return found


def _score_events(svc, contact_id: str) -> list[Any]:
    return [
        e
        for e in svc.events.timeline(contact_id, limit=500, newest_first=False)
        if e.type == "score_changed"
    ]


def _view(client, scored: Journeys, url: str, email: str = "ada@example.com") -> None:
    answer = track(client, type="page_viewed", email=email, properties={"url": url})
    assert answer.status_code == 202, answer.body
    scored.settle()


def test_reasons_add_up_to_the_score(client, scored, svc):
    cid = _submit(client, scored, email="grace@gmail.com", job_title="Director of IT")
    _view(client, scored, "https://www.example.com/pricing", "grace@gmail.com")
    contact = svc.contacts.get(cid)
    reasons = {k: int(v) for k, v in contact["score_reasons"].items()}
    assert reasons == {"senior": 20, "free-mail": -10, "whitepaper": 10, "pricing": 15}
    assert int(contact["score"]) == sum(reasons.values()) == 35
    events = _score_events(svc, cid)
    assert sum(e.properties["points"] for e in events) == 35
    assert {e.properties["rule"] for e in events} == set(reasons)
    senior = next(e for e in events if e.properties["rule"] == "senior")
    assert "Senior title" in senior.properties["reason"]


def test_a_fit_rule_gives_its_points_back_when_it_stops_holding(client, scored, svc):
    cid = _submit(client, scored, job_title="Director")
    _submit(client, scored, job_title="Engineer")
    contact = svc.contacts.get(cid)
    assert int(contact["score_reasons"]["senior"]) == 0
    assert int(contact["score"]) == 20  # two downloads, no title points
    assert sum(e.properties["points"] for e in _score_events(svc, cid)) == int(contact["score"])


def test_caps_hold_per_rule_per_period(client, scored, svc, clock):
    cid = _submit(client, scored)
    for _ in range(4):
        _view(client, scored, "https://www.example.com/pricing?plan=pro")
    assert int(svc.contacts.get(cid)["score_reasons"]["pricing"]) == 30  # not 60
    clock.advance(days=7)
    _view(client, scored, "https://www.example.com/pricing")
    assert int(svc.contacts.get(cid)["score_reasons"]["pricing"]) == 45  # a new week


def test_engagement_decays_with_its_half_life(client, scored, svc, clock):
    cid = _submit(client, scored)
    for _ in range(2):
        _view(client, scored, "https://www.example.com/pricing")
    assert int(svc.contacts.get(cid)["score"]) == 40
    scored.later(days=14)
    contact = svc.contacts.get(cid)
    assert int(contact["score"]) == 20  # 40 engagement halves in a half-life (two weekly steps)
    assert int(contact["score_reasons"]["decay"]) == -20
    decays = [e for e in _score_events(svc, cid) if e.properties["rule"] == "decay"]
    assert [e.properties["points"] for e in decays] == [-12, -8]
    reasons = {k: int(v) for k, v in contact["score_reasons"].items()}
    assert sum(reasons.values()) == int(contact["score"])


def test_activity_postpones_decay(client, scored, svc, clock):
    cid = _submit(client, scored)
    scored.later(days=6)
    _view(client, scored, "https://www.example.com/pricing")
    scored.later(days=6)  # 12 days after the form, 6 after the last activity
    assert "decay" not in svc.contacts.get(cid)["score_reasons"]


def test_activity_in_a_pending_week_writes_no_timer_and_decay_follows_the_latest(
    client, scored, svc, clock
):
    cid = _submit(client, scored)
    armed = TimerModel.get(cid, "score-decay").due_at
    scored.later(days=6)
    _view(client, scored, "https://www.example.com/pricing")
    assert TimerModel.get(cid, "score-decay").due_at == armed  # the pending week stands

    scored.later(days=6, hours=23)  # it fired on day 7, six days after the view: moved on
    assert "decay" not in svc.contacts.get(cid)["score_reasons"]
    scored.later(hours=2)  # a week after the view
    assert int(svc.contacts.get(cid)["score_reasons"]["decay"]) < 0


def test_thresholds_move_stages_forward_only(client, scored, svc):
    cid = _submit(client, scored, job_title="Director")
    assert svc.contacts.get(cid)["stage"] == "lead"  # 30
    _view(client, scored, "https://www.example.com/pricing")
    assert svc.contacts.get(cid)["stage"] == "mql"  # 45
    _submit(client, scored, job_title="Engineer")  # -20 fit, +10 download: 35
    contact = svc.contacts.get(cid)
    assert int(contact["score"]) == 35 and contact["stage"] == "mql"
    moves = [
        (e.properties["from"], e.properties["to"])
        for e in svc.events.timeline(cid, limit=500, newest_first=False)
        if e.type == "stage_changed"
    ]
    assert moves == [(None, "lead"), ("lead", "mql")]
