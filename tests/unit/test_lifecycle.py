"""The one function that moves a stage: the score and journeys climb, rules and sales decide."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.lifecycle import LADDER, Mover, Stage, move, reached

CURRENT = st.one_of(st.none(), st.sampled_from([s.value for s in Stage]), st.just("legacy"))


@given(current=CURRENT, target=st.sampled_from(list(Stage)), by=st.sampled_from(list(Mover)))
def test_only_an_explicit_mover_goes_back_down_or_leaves_a_closed_stage(current, target, by):
    moved = move(current, target, by)
    if moved is None:
        assert current == target or not by.explicit
        return
    assert moved == target != current
    if not by.explicit and current:
        assert current in LADDER, f"{by} took {current} off a closed stage"
        assert target not in LADDER or LADDER.index(target) > LADDER.index(Stage(current))


def test_the_score_and_journeys_climb_and_rules_go_anywhere():
    assert move("mql", Stage.SQL, Mover.SCORE) is Stage.SQL
    assert move("sql", Stage.LEAD, Mover.SCORE) is None
    assert move("customer", Stage.SUBSCRIBER, Mover.JOURNEY) is None
    assert move("customer", Stage.CHURNED, Mover.JOURNEY) is Stage.CHURNED
    assert move("churned", Stage.CUSTOMER, Mover.JOURNEY) is None
    assert move(None, Stage.MQL, Mover.JOURNEY) is Stage.MQL
    assert move("sql", Stage.LEAD, Mover.RULE) is Stage.LEAD
    assert move("disqualified", Stage.OPPORTUNITY, Mover.SALES) is Stage.OPPORTUNITY
    assert move("lead", Stage.LEAD, Mover.RULE) is None


def test_a_stage_is_reached_by_being_there_or_further_up_the_ladder():
    assert reached("sql", Stage.MQL) and reached("mql", Stage.MQL)
    assert not reached("lead", Stage.MQL)
    assert not reached("disqualified", Stage.LEAD)
    assert reached("churned", Stage.CHURNED) and not reached("customer", Stage.CHURNED)
    assert not reached(None, Stage.SUBSCRIBER)
