"""When time alone can change a condition's verdict: the moment a window slides past an event.

"Clicked in the last 30 days" stops holding 30 days after the click that keeps it true, and
"no activity in 90 days" starts holding 90 days after the last activity, with no new event
either way. `changes_at` gives that moment, so a segment can schedule its own re-check for
exactly then instead of scanning every contact every day.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.conditions.evaluation import Facts, last_activity, matching
from chalicelib.conditions.language import (
    AllCondition,
    AnyCondition,
    Condition,
    EventCondition,
    InactiveCondition,
    NotCondition,
)

# Windows include their edge (an event exactly `within` ago still counts), so the verdict
# changes just after it: the re-check waits this much longer.
PAST_THE_EDGE = timedelta(seconds=1)


def changes_at(cond: Condition, facts: Facts, now: datetime) -> datetime | None:
    """The first moment after `now` at which the verdict may change with no new event, or
    None when only a new event (or a change to the contact) can change it. Early is safe: a
    re-check that finds nothing changed schedules the next one."""
    match cond:
        case EventCondition(within=None):
            return None
        case EventCondition():
            assert cond.within is not None
            found = matching(cond, facts, now, None)
            if len(found) < cond.min_count:
                return None
            # The count drops below min_count when its min_count-th newest event leaves.
            return found[cond.min_count - 1].occurred_at + cond.within + PAST_THE_EDGE
        case InactiveCondition():
            last = last_activity(facts, now - cond.inactive_for)
            return last.occurred_at + cond.inactive_for + PAST_THE_EDGE if last else None
        case AllCondition() | AnyCondition():
            parts = cond.all if isinstance(cond, AllCondition) else cond.any
            times = [t for part in parts if (t := changes_at(part, facts, now)) is not None]
            return min(times, default=None)
        case NotCondition():
            return changes_at(cond.not_, facts, now)
    return None
