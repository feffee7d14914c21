"""Atomic counters: the round-robin turn of a team, an owner's open leads, an email's opens
and each of its links' clicks."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from chalicelib.store.models import CounterModel


def turn_key(team: str) -> str:
    return f"route#{team}#turn"


def open_leads_key(owner: str) -> str:
    return f"owner#{owner}#open"


def opens_key(sent_id: str) -> str:
    return f"email#{sent_id}#opens"


def clicks_key(sent_id: str, link: int) -> str:
    return f"email#{sent_id}#link{link}#clicks"


class Counters:
    def next(self, key: str) -> int:
        """Add one and return the value before it: each caller gets its own number."""
        item = CounterModel(key)
        item.update(actions=[CounterModel.value.add(1)])
        return int(item.value) - 1

    def value(self, key: str) -> int:
        try:
            return int(CounterModel.get(key, consistent_read=True).value)
        except DoesNotExist:
            return 0
