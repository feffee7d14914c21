"""What a timeline row says beside its type, in a few words: the journey, form or template it
belongs to, the segment entered or left, a stage's move, a score's change, a deal's amount,
the rule that fired.

The contact page shows every event; a row with only its type ("segment_entered") leaves the
reader to open the raw timeline for the part that matters.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

_NAMED = ("journey", "form_id", "template", "segment", "rule", "target", "deal_id")


def detail(event: dict[str, Any]) -> str:
    props = event.get("properties") or {}
    if "from" in props and "to" in props:  # stage_changed
        return f"{props.get('from') or '–'} → {props['to']}"
    if "owner" in props and "to" in props:  # a lead recycled, given back or moved by hand
        moved = f"{props['owner']} → {props['to'] or 'pool'}"
        return f"{moved} ({props['reason']})" if props.get("reason") else moved
    if "score" in props and "points" in props:  # score_changed
        points = props["points"]
        sign = "+" if isinstance(points, int | float) and points > 0 else ""
        why = props.get("rule") or props.get("reason") or ""
        return f"{sign}{points} ({why}) = {props['score']}"
    if props.get("amount") is not None:  # a deal
        return f"{props['amount']} {props.get('currency') or ''}".strip()
    return next((str(props[k]) for k in _NAMED if props.get(k)), "")


def moment(value: Any) -> str:
    """2026-01-15 09:00 (UTC, as stored), from a time or its ISO text."""
    text = value.isoformat() if isinstance(value, datetime) else str(value or "")
    return text[:16].replace("T", " ")
