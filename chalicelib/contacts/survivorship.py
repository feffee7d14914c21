"""Which values survive when two contacts become one (pure).

The rules, as docs/contacts.md states them:
- a profile field: the most recently updated contact's non-empty value, unless the field is
  locked (then the survivor's value stays);
- email and phone: the survivor's, or the other's where the survivor has none;
- first touch: the earlier contact's; last touch: the later one's;
- consent, per topic: the more restrictive (refused over never asked over granted), so a
  merge never makes someone reachable who was not;
- tags, lists, visitor ids: both; submissions: added up;
- scores: each rule's points, the larger of the two (a rule counted twice would inflate);
- stage: the further one on the ladder; the owner: the survivor's, else the other's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

_NEVER = datetime.max.replace(tzinfo=UTC)  # a missing time sorts last
LADDER = ("subscriber", "lead", "mql", "sql", "opportunity", "customer")


@dataclass
class Merged:
    attributes: dict[str, Any]
    """What the survivor's item becomes (every attribute a merge may change)."""
    taken: dict[str, str] = field(default_factory=dict)
    """Field -> "merged" where the other contact's value won: the merge event reports it."""


def merge(
    survivor: Mapping[str, Any], other: Mapping[str, Any], locked: Iterable[str] = ()
) -> Merged:
    keep = set(locked)
    newer_is_other = _at(other, "updated_at") > _at(survivor, "updated_at")
    properties = dict(survivor.get("properties") or {})
    taken: dict[str, str] = {}
    for name, value in (other.get("properties") or {}).items():
        if value in (None, ""):
            continue
        mine = properties.get(name)
        if mine in (None, "") or (newer_is_other and name not in keep and mine != value):
            properties[name] = value
            taken[name] = "merged"
    earlier = other if _at(other, "created_at") < _at(survivor, "created_at") else survivor
    later = other if newer_is_other else survivor
    reasons = dict(survivor.get("score_reasons") or {})
    for rule, points in (other.get("score_reasons") or {}).items():
        reasons[rule] = max(reasons.get(rule, points), points)
    attributes = {
        "email": survivor.get("email") or other.get("email"),
        "phone": survivor.get("phone") or other.get("phone"),
        "properties": properties,
        "first_touch": earlier.get("first_touch") or later.get("first_touch"),
        "last_touch": later.get("last_touch") or earlier.get("last_touch"),
        "consents": restrictive(survivor.get("consents") or {}, other.get("consents") or {}),
        "tags": _union(survivor, other, "tags"),
        "segments": _union(survivor, other, "segments"),
        "visitor_ids": _union(survivor, other, "visitor_ids"),
        "submissions": int(survivor.get("submissions") or 0) + int(other.get("submissions") or 0),
        "score_reasons": reasons,
        "score": sum(int(v) for v in reasons.values()) if reasons else survivor.get("score"),
        "stage": _stage(survivor.get("stage"), other.get("stage")),
        "lead": survivor.get("lead") or other.get("lead"),
        "created_at": min(_at(survivor, "created_at"), _at(other, "created_at")),
        "created_by_event": earlier.get("created_by_event") or survivor.get("created_by_event"),
    }
    for topic in sorted(set(survivor.get("consents") or {}) | set(other.get("consents") or {})):
        if topic not in attributes["consents"]:
            taken[f"consents.{topic}"] = "dropped: granted on one side only"
        elif attributes["consents"][topic] is not (survivor.get("consents") or {}).get(topic):
            taken[f"consents.{topic}"] = "the merged contact's refusal"
    if not survivor.get("email") and other.get("email"):
        taken["email"] = "merged"
    if not survivor.get("phone") and other.get("phone"):
        taken["phone"] = "merged"
    return Merged(attributes, taken)


def restrictive(ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> dict[str, Any]:
    """Per topic, the record that allows less: refused, then no record, then granted."""
    out: dict[str, Any] = {}
    for topic in set(ours) | set(theirs):
        a, b = ours.get(topic), theirs.get(topic)
        if a is None or b is None:
            present = a if a is not None else b
            if present is not None and not present.get("granted"):
                out[topic] = present  # a refusal stays whoever made it
            continue  # granted on one side only: never asked on the other, so not granted
        if not a.get("granted"):
            out[topic] = a
        elif not b.get("granted"):
            out[topic] = b
        else:
            out[topic] = a
    return out


def _union(a: Mapping[str, Any], b: Mapping[str, Any], name: str) -> set[str] | None:
    both = set(a.get(name) or ()) | set(b.get(name) or ())
    return both or None


def _stage(a: str | None, b: str | None) -> str | None:
    ranked = [s for s in (a, b) if s in LADDER]
    if ranked:
        return max(ranked, key=LADDER.index)
    return a or b


def _at(contact: Mapping[str, Any], name: str) -> datetime:
    value = contact.get(name)
    return value if isinstance(value, datetime) else _NEVER
