"""Routing's pure decisions: weights and time off (routing, hand-off, the SLA pool and
reminders on the real pipeline: tests/integration/test_handoff.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.leads.routing import Routing, candidates


def test_weights_and_time_off():
    team = Routing.model_validate(
        {
            "fallback": "t",
            "teams": [
                {
                    "id": "t",
                    "members": [
                        {"id": "a", "name": "A", "email": "a@example.com", "weight": 2},
                        {
                            "id": "b",
                            "name": "B",
                            "email": "b@example.com",
                            "out_of_office": [{"from": "2026-01-01", "to": "2026-01-10"}],
                        },
                    ],
                }
            ],
        }
    ).team("t")
    assert [o.id for o in team.slots()] == ["a", "b", "a"]
    away = datetime(2026, 1, 5, tzinfo=UTC)
    back = datetime(2026, 1, 12, tzinfo=UTC)
    assert [o.id for o in candidates(team, 1, away, set())] == ["a"]
    assert [o.id for o in candidates(team, 1, back, set())] == ["b", "a"]
