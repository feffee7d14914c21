"""Property: whatever journeys, scores and rules do, a contact's stage never moves back down
the ladder (or out of disqualified/churned) except through an explicit rule."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chalicelib.content import catalog
from chalicelib.events import STAGE_CHANGED
from chalicelib.lifecycle import Stage
from chalicelib.services import publisher
from tests.builders import ROOT, stub_templates
from tests.conftest import fresh_world

STAGES = st.sampled_from([s.value for s in Stage])
# Each op is one thing that happens to the contact: a journey whose update steps set these
# stages starts, a rule sets a stage, engagement raises the score, or time passes.
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("journey"), st.integers(min_value=0, max_value=2)),
        st.tuples(st.just("rule"), st.integers(min_value=0, max_value=1)),
        st.tuples(st.just("event"), st.sampled_from(["demo_requested", "webinar_attended"])),
        st.tuples(st.just("later"), st.integers(min_value=1, max_value=40)),
    ),
    min_size=1,
    max_size=8,
)


def _journey(index: int, stages: list[str]) -> str:
    steps = [{"id": f"set-{i}", "update": {"stage": stage}} for i, stage in enumerate(stages)]
    for i in range(len(steps) - 1):
        steps.insert(2 * i + 1, {"id": f"pause-{i}", "wait": "1d"})
    return yaml.safe_dump(
        {
            "name": f"Stager {index}",
            "trigger": {"event": f"stager_{index}"},
            "entry": {"reentry": "always"},
            "steps": steps,
        }
    )


def _world(folder: Path, journeys: list[list[str]], rules: list[str], thresholds: list[int]):
    world = fresh_world()
    services = world.svc
    content = folder / "marketing"
    (content / "journeys").mkdir(parents=True)
    shutil.copy(ROOT / "marketing" / "routing.yaml", content / "routing.yaml")
    scoring = yaml.safe_load((ROOT / "marketing" / "scoring.yaml").read_text())
    scoring["stages"] = dict(zip(("lead", "mql", "sql"), sorted(thresholds), strict=True))
    (content / "scoring.yaml").write_text(yaml.safe_dump(scoring))
    (content / "rules.yaml").write_text(
        yaml.safe_dump(
            {
                "rules": [
                    {"id": f"to-{i}", "when": {"event": f"rule_{i}"}, "then": [{"set_stage": s}]}
                    for i, s in enumerate(rules)
                ]
            }
        )
    )
    texts = {f"stager-{i}": _journey(i, stages) for i, stages in enumerate(journeys)}
    for stem, text in texts.items():
        (content / "journeys" / f"{stem}.yaml").write_text(text)
    stub_templates(folder / "templates", "\n".join(texts.values()))
    loaded = catalog.load(content)
    assert not loaded.problems, loaded.problems
    publisher.publish(loaded, services.content)
    return world, world.sign_up("stages@example.com")


def climbs(before: str | None, after: str) -> bool:
    """Forward, spelled out here rather than asked of lifecycle.move (the code under test):
    up the ladder, or off it to disqualified or churned, from a stage on it (or from none)."""
    ladder = ["subscriber", "lead", "mql", "sql", "opportunity", "customer"]
    if before is None:
        return True
    if before not in ladder:
        return False
    return after not in ladder or ladder.index(after) > ladder.index(before)


@pytest.mark.usefixtures("aws")
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    journeys=st.lists(st.lists(STAGES, min_size=1, max_size=3), min_size=3, max_size=3),
    rules=st.lists(STAGES, min_size=2, max_size=2),
    thresholds=st.lists(st.integers(min_value=0, max_value=120), min_size=3, max_size=3),
    ops=OPS,
)
@example(  # two enrollments of one contact move its stage in the same tick, in run order
    journeys=[["lead"], ["mql", "churned", "sql"], ["disqualified", "mql", "sql"]],
    rules=["lead", "mql"],
    thresholds=[100, 28, 82],
    ops=[
        ("rule", 1),
        ("event", "webinar_attended"),
        ("journey", 1),
        ("later", 13),
        ("journey", 1),
        ("rule", 0),
    ],
)
def test_a_stage_moves_back_only_through_an_explicit_rule(
    tmp_path_factory, journeys, rules, thresholds, ops
):
    world, contact_id = _world(tmp_path_factory.mktemp("stages"), journeys, rules, thresholds)
    for op, arg in ops:
        if op == "later":
            world.later(days=arg)
        elif op == "journey":
            world.clock.advance(seconds=1)
            world.event(contact_id, f"stager_{arg}")
        elif op == "rule":
            world.clock.advance(seconds=1)
            world.event(contact_id, f"rule_{arg}")
        else:
            world.clock.advance(seconds=1)
            world.event(contact_id, str(arg))
    world.later(days=30)  # let every journey run to its end

    moves = [
        e
        for e in world.svc.events.timeline(contact_id, limit=1000, newest_first=False)
        if e.type == STAGE_CHANGED
    ]
    stage = None
    for move in moves:
        before, after = move.properties["from"], move.properties["to"]
        assert before == stage, f"{move.properties}: the contact was at {stage}"
        assert climbs(before, after) or move.source == "rules", (
            f"{before} -> {after} by {move.source} {move.properties}"
        )
        stage = after
    contact = world.svc.contacts.get(contact_id)
    assert contact is not None and contact.get("stage") == stage
