"""Durations as marketers write them: 3d, 2h, 90m, 1w2d, 45s."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
_PART = re.compile(r"(\d+)\s*([wdhms])")
_WHOLE = re.compile(r"^\s*(?:\d+\s*[wdhms]\s*)+$")
# Ten years: longer than any wait, window or cap means anything, and far from the edge of
# what a date can hold (a window of 99999999d would reach before the year 1).
LONGEST = timedelta(days=3650)


def parse(text: str) -> timedelta:
    """Parse `3d`, `2h30m`, `1w`; raises ValueError naming the accepted units otherwise."""
    if not isinstance(text, str) or not _WHOLE.match(text.lower()):
        raise ValueError(
            f"{text!r} is not a duration; write a number and a unit (w, d, h, m, s), "
            "like 3d or 2h30m"
        )
    delta = timedelta()
    try:
        for amount, unit in _PART.findall(text.lower()):
            delta += timedelta(**{_UNITS[unit]: int(amount)})
    except (OverflowError, ValueError):  # more days than a timedelta holds
        delta = LONGEST * 2
    if delta <= timedelta():
        raise ValueError(f"{text!r} must be longer than zero")
    if delta > LONGEST:
        raise ValueError(f"{text!r} is longer than ten years (3650d), the longest allowed")
    return delta


def describe(delta: timedelta) -> str:
    """The shortest spelling of a duration, for timelines and graphs."""
    seconds = int(delta.total_seconds())
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, seconds = divmod(seconds, size)
        if amount:
            out += f"{amount}{unit}"
    return out or "0s"
