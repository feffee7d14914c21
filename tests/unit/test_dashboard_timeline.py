"""A timeline row on the contact page says what the event was about."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.api.dashboard.timeline import detail, moment


@pytest.mark.parametrize(
    ("properties", "shown"),
    [
        ({"from": None, "to": "lead"}, "– → lead"),
        ({"from": "lead", "to": "customer"}, "lead → customer"),
        ({"rule": "whitepaper", "points": 30, "score": 30}, "+30 (whitepaper) = 30"),
        ({"reason": "decay", "points": -4, "score": 26}, "-4 (decay) = 26"),
        ({"amount": 4200, "currency": "USD"}, "4200 USD"),
        ({"owner": "ada", "to": "ben", "reason": "knows them"}, "ada → ben (knows them)"),
        ({"owner": "ada", "to": None, "reason": ""}, "ada → pool"),
        ({"segment": "subscribers", "by": "rule"}, "subscribers"),
        ({"journey": "onboarding", "template": "welcome"}, "onboarding"),
        ({}, ""),
    ],
)
def test_each_kind_of_event_says_what_it_was_about(properties, shown):
    assert detail({"type": "x", "properties": properties}) == shown


def test_a_moment_is_read_to_the_minute_whether_a_time_or_its_text():
    at = datetime(2026, 1, 15, 9, 0, 41, 123, tzinfo=UTC)
    assert moment(at) == moment(at.isoformat()) == "2026-01-15 09:00"
    assert moment(None) == ""
