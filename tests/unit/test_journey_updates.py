"""Journey update steps as one ContactChange: several steps in one run add up, a stage a
journey may not take is kept and said so, and a contact that is gone gets nothing written."""

from __future__ import annotations

from chalicelib.clock import FakeClock
from chalicelib.contact_change import JOURNEY_SCORE_REASON
from chalicelib.events import CONTACT_UPDATED, STAGE_CHANGED
from chalicelib.journeys.engine import Engine
from chalicelib.journeys.language import Journey
from chalicelib.journeys.machine import compile_journey
from chalicelib.lifecycle import Stage
from tests.unit.test_journey_engine import ADA, MONDAY_10_BERLIN, Memory, _event

TWO_UPDATES = compile_journey(
    Journey.model_validate(
        {
            "id": "two-updates",
            "name": "Two updates",
            "trigger": {"event": "demo_requested"},
            "steps": [
                {"id": "warm", "update": {"score": 5, "tags": {"add": ["warm"]}, "stage": "mql"}},
                {
                    "id": "hot",
                    "update": {
                        "score": 10,
                        "tags": {"add": ["hot"], "remove": ["warm", "cold"]},
                        "stage": "sql",
                        "fields": {"plan": "trial"},
                    },
                },
            ],
        }
    ),
    1,
)


def _run(memory: Memory):
    engine = Engine(FakeClock(MONDAY_10_BERLIN))
    cause = _event(engine.clock, "demo_requested")
    return engine.enter(TWO_UPDATES, cause, memory)


def test_two_update_steps_in_one_run_make_one_change_that_adds_up():
    memory = Memory({"score": 20, "score_reasons": {"fit": 20}, "tags": ["cold"], "stage": "lead"})

    out = _run(memory)

    change = out.contact
    assert change is not None and change.version == 1
    assert change.attributes["score"] == 35
    assert change.score_reasons == {JOURNEY_SCORE_REASON: 15}
    assert change.whole_tags() == {"hot"}
    assert change.stage is Stage.SQL and change.properties == {"plan": "trial"}
    moves = [
        (e.properties["from"], e.properties["to"]) for e in out.events if e.type == STAGE_CHANGED
    ]
    assert moves == [("lead", "mql"), ("mql", "sql")]


def test_a_stage_a_journey_may_not_take_is_kept_and_recorded_as_kept():
    memory = Memory({"stage": "customer", "tags": []})

    out = _run(memory)

    assert out.contact is not None and out.contact.stage is None
    updates = [e.properties for e in out.events if e.type == CONTACT_UPDATED]
    assert [u.get("stage_kept") for u in updates] == ["customer", "customer"]
    assert not [e for e in out.events if e.type == STAGE_CHANGED]


def test_a_contact_that_is_gone_gets_no_change_and_no_copy_of_the_values():
    memory = Memory()
    memory.profile = {}

    out = _run(memory)

    assert out.contact is None
    updates = [e.properties for e in out.events if e.type == CONTACT_UPDATED]
    assert [u["skipped"] for u in updates] == ["the contact is gone"] * 2
    assert all("changes" not in u for u in updates)
    assert all(e.contact_id == ADA for e in out.events)
