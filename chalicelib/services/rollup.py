"""The daily roll-up of the report counters: once a day, each closed day's shards of every
scope are merged into one item, so a report over a quarter reads one item a day per scope.

The scopes of a day are the ones its `all` items noted (a journey's counts live in the
journey's own scope, which its enrollments note once a day). Each
run merges the last LOOKBACK closed days again: a count that arrived late for a closed day
(an SES delivery notice, a retried event) is a new shard, merged the next night. Merging is
idempotent and never loses a count (store/stats.py roll_day), so a run cut short by the
tick's time limit is simply finished by the next.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from chalicelib.reports import tally
from chalicelib.store.stats import StatStore

LOOKBACK = 3


class Rollup:
    def __init__(self, stats: StatStore) -> None:
        self.stats = stats

    def run_if_due(self, now: datetime) -> int:
        """Merge the closed days once a day; the number of (scope, day) items merged."""
        today = now.date()
        if self.stats.rolled_up_on() == today:
            return 0
        merged = sum(self.roll(today - timedelta(days=back)) for back in range(LOOKBACK, 0, -1))
        self.stats.rolled_up(today, now)
        return merged

    def roll(self, day: date) -> int:
        scopes = {tally.ALL} | self.stats.scopes(day, day)
        return sum(self.stats.roll_day(scope, day) for scope in sorted(scopes))
