"""The send rate limiter on a fake clock (the sender holding the rate on the embedded AWS:
tests/integration/test_email_delivery.py)."""

from __future__ import annotations

import itertools
from datetime import timedelta

from chalicelib.clock import FakeClock
from chalicelib.messaging.ratelimit import RateLimiter


def test_the_rate_limiter_spaces_sends_on_a_fake_clock():
    clock = FakeClock()
    limiter = RateLimiter(5, clock, lambda s: clock.advance(seconds=s))
    times = []
    for _ in range(12):
        limiter.acquire()
        times.append(clock.now())
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.2 - 1e-9
    assert times[-1] - times[0] == timedelta(seconds=11 * 0.2)
    # In any one-second window, at most five sends start.
    assert max(sum(1 for t in times if s <= t < s + timedelta(seconds=1)) for s in times) == 5
