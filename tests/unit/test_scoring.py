"""Scoring's pure rules: the stage ladder and the kinds of decay (on the real pipeline:
tests/integration/test_scoring.py)."""

from __future__ import annotations

import pytest

from chalicelib.leads.scoring import Decay, Scoring, next_stage


def test_stage_ladder_rules():
    scoring = Scoring.model_validate({"stages": {"lead": 1, "mql": 40, "sql": 70}})
    assert next_stage(scoring, None, 0)[0].value == "subscriber"
    assert next_stage(scoring, "lead", 75)[0].value == "sql"
    assert next_stage(scoring, "sql", 10) is None
    assert next_stage(scoring, "customer", 99) is None
    assert next_stage(scoring, "disqualified", 99) is None


def test_decay_kinds():
    assert Decay.model_validate({"points_per_week": 5}).loss(3) == 3
    assert Decay.model_validate({"half_life": "7d"}).loss(40) == 20
    with pytest.raises(ValueError):
        Decay.model_validate({"half_life": "7d", "points_per_week": 5})
    with pytest.raises(ValueError, match="rise"):
        Scoring.model_validate({"stages": {"mql": 50, "sql": 20}})
