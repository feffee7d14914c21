"""A journey the schema refused, made checkable, so one `validate` reports every problem.

Without it the checks between steps (gotos, `step:` filters, templates, forms) wait until the
file is well formed: three mistakes took three runs. Each refused value is taken out; a step
that cannot stand without it becomes a pause that keeps its id and `next`, so gotos to it still
land. What was taken out comes back as `unsure`, and the checks keep quiet about it: they
would only repeat the schema's complaint in other words.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from chalicelib.content import wording
from chalicelib.journeys.language import STEP_CLASSES, STEP_ID, Journey

Loc = wording.Loc
ROUNDS = 8
_ACTIONS = frozenset(STEP_CLASSES.values())
_FILLERS: dict[str, Any] = {"name": "?", "trigger": {"event": "?"}}


class _Hopeless(Exception):
    """Nothing checkable is left (no steps)."""


@dataclass
class Salvaged:
    journey: Journey | None
    unsure: list[Loc] = field(default_factory=list)


def trusted(loc: Loc, unsure: list[Loc]) -> bool:
    """A check's finding at `loc` stands unless it reads, or lies inside, what was taken out."""
    return not any(loc[: len(u)] == u or u[: len(loc)] == loc for u in unsure)


def salvage(data: dict[str, Any], refused: list[Loc]) -> Salvaged:
    """The journey with every refused value taken out, or None when too little is left."""
    data = copy.deepcopy(data)
    unsure: list[Loc] = []
    locs = refused
    for _ in range(ROUNDS):
        try:
            for loc in locs:
                unsure.append(_prune(data, loc))
        except _Hopeless:
            return Salvaged(None, unsure)
        try:
            return Salvaged(Journey.model_validate(data), unsure)
        except ValidationError as exc:
            locs = [loc for loc, _ in wording.complaints(data, exc.errors())]
    return Salvaged(None, unsure)


def _prune(data: dict[str, Any], loc: Loc) -> Loc:
    """Take out what `loc` names; return what was taken out."""
    if not loc:
        raise _Hopeless
    if loc[0] == "steps" and len(loc) >= 2 and isinstance(loc[1], int):
        return _prune_step(data, loc)
    parent = _at(data, loc[:-1])
    key = loc[-1]
    if len(loc) == 1 and key not in data:
        if key not in _FILLERS:
            raise _Hopeless
        data[key] = copy.deepcopy(_FILLERS[key])
        return loc
    if isinstance(parent, dict) and key in parent:
        del parent[key]
        return loc
    if isinstance(parent, list) and isinstance(key, int) and 0 <= key < len(parent):
        del parent[key]
        return loc[:-1]  # the items after it moved up: none of their paths is sure now
    return _prune(data, loc[:-1])


def _prune_step(data: dict[str, Any], loc: Loc) -> Loc:
    steps = data.get("steps")
    index = loc[1]
    if not isinstance(steps, list) or not 0 <= int(index) < len(steps):
        raise _Hopeless
    step = steps[int(index)]
    inside_action = len(loc) >= 4 and loc[2] in _ACTIONS
    parent = _at(data, loc[:-1])
    key = loc[-1]
    if (inside_action or (len(loc) == 3 and key in ("next", "label"))) and (
        isinstance(parent, dict) and key in parent
    ):
        del parent[key]
        return loc
    steps[int(index)] = _pause(step, int(index))
    return loc[:2]


def _pause(step: Any, index: int) -> dict[str, Any]:
    """A stand-in that keeps what links the step to the others: its id and its `next`."""
    raw = step if isinstance(step, dict) else {}
    step_id = raw.get("id")
    if not isinstance(step_id, str) or not re.match(STEP_ID, step_id):
        step_id = f"step-{index}"
    out: dict[str, Any] = {"id": step_id, "wait": "1s"}
    if isinstance(raw.get("next"), str):
        out["next"] = raw["next"]
    return out


def _at(data: Any, loc: Loc) -> Any:
    node = data
    for part in loc:
        if not wording.holds(node, part):
            return None
        node = node[part]
    return node
