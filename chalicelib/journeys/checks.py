"""Cross-reference checks the schema cannot express: every goto lands, every step is
reachable, no loop runs without a wait, `step:` filters name steps that exist, and no journey
waits for an event it can never hear."""

from __future__ import annotations

from collections.abc import Collection, Iterator

from chalicelib.conditions.language import (
    AllCondition,
    AnyCondition,
    Condition,
    EventCondition,
    NotCondition,
)
from chalicelib.events import BOOKKEEPING
from chalicelib.journeys.graph import TERMINAL, edges
from chalicelib.journeys.language import BranchStep, Journey, SendEmailStep, WaitForStep, WaitStep

Loc = tuple[str | int, ...]


def problems(journey: Journey, unsure: Collection[Loc] = ()) -> list[tuple[Loc, str]]:
    """Every problem between the steps. `unsure` names parts of the file the schema refused
    (and that were left out of `journey`): nothing is concluded from their absence."""
    found: list[tuple[Loc, str]] = []
    ids: dict[str, int] = {}
    for i, step in enumerate(journey.steps):
        if step.id in ids:
            found.append((("steps", i, "id"), f"step id {step.id!r} is used twice"))
        ids.setdefault(step.id, i)
    # Steps the schema refused stand in as pauses: what kind they are is not known.
    unknown = {journey.steps[int(loc[1])].id for loc in unsure if loc[:1] == ("steps",)}
    found += _targets(journey, ids, unsure)
    found += _bookkeeping(journey)
    found += _step_filters(journey, ids, unknown)
    # With a step that goes nowhere or is not read whole, the graph's findings are echoes.
    if not found and not unknown:
        found += _reachability(journey, ids)
        found += _instant_loops(journey, ids)
    return found


def _targets(
    journey: Journey, ids: dict[str, int], unsure: Collection[Loc]
) -> list[tuple[Loc, str]]:
    found = []
    for i, step in enumerate(journey.steps):
        refs: list[tuple[Loc, str | None]] = [(("steps", i, "next"), step.next)]
        if isinstance(step, WaitForStep):
            refs += [
                (("steps", i, "wait_for", "on_event"), step.wait_for.on_event),
                (("steps", i, "wait_for", "on_timeout"), step.wait_for.on_timeout),
            ]
            timeout_refused = ("steps", i, "wait_for", "timeout") in unsure
            if step.wait_for.on_timeout and step.wait_for.timeout is None and not timeout_refused:
                found.append((("steps", i, "wait_for", "on_timeout"), "on_timeout needs a timeout"))
        if isinstance(step, BranchStep):
            for c, case in enumerate(step.branch.cases):
                refs.append((("steps", i, "branch", "cases", c, "goto"), case.goto))
            refs.append((("steps", i, "branch", "otherwise"), step.branch.otherwise))
        if hasattr(step, "split"):
            for p, path in enumerate(step.split):
                refs.append((("steps", i, "split", p, "goto"), path.goto))
        for loc, target in refs:
            if target is not None and target not in ids:
                found.append((loc, f"goes to step {target!r}, which this journey does not have"))
    return found


def _bookkeeping(journey: Journey) -> list[tuple[Loc, str]]:
    """Events a journey cannot react to: Leadflow's records of its own work (events.py)."""
    named: list[tuple[Loc, tuple[str, ...]]] = []
    if journey.trigger.event is not None:
        named.append((("trigger", "event"), (journey.trigger.event,)))
    if journey.goal is not None:
        named.append((("goal", "event"), (journey.goal.event,)))
    for loc, cond in _conditions(journey):
        if loc[0] == "exit_when" and isinstance(cond, EventCondition):
            named.append(((*loc, "event"), cond.types))
    for i, step in enumerate(journey.steps):
        if isinstance(step, WaitForStep):
            named.append((("steps", i, "wait_for", "event"), step.wait_for.types))
    return [
        (loc, f"{kind} is Leadflow's own record of its work: no journey reacts to it")
        for loc, kinds in named
        for kind in kinds
        if kind in BOOKKEEPING
    ]


def _conditions(journey: Journey) -> Iterator[tuple[Loc, Condition]]:
    def walk(loc: Loc, cond: Condition) -> Iterator[tuple[Loc, Condition]]:
        yield loc, cond
        match cond:
            case AllCondition():
                for n, part in enumerate(cond.all):
                    yield from walk((*loc, "all", n), part)
            case AnyCondition():
                for n, part in enumerate(cond.any):
                    yield from walk((*loc, "any", n), part)
            case NotCondition():
                yield from walk((*loc, "not"), cond.not_)

    for n, cond in enumerate(journey.exit_when):
        yield from walk(("exit_when", n), cond)
    for n, cond in enumerate(journey.entry.conditions):
        yield from walk(("entry", "conditions", n), cond)
    for i, step in enumerate(journey.steps):
        if isinstance(step, BranchStep):
            for c, case in enumerate(step.branch.cases):
                yield from walk(("steps", i, "branch", "cases", c, "when"), case.when)


def _step_filters(
    journey: Journey, ids: dict[str, int], unknown: set[str]
) -> list[tuple[Loc, str]]:
    filters: list[tuple[Loc, object]] = []
    for i, step in enumerate(journey.steps):
        if isinstance(step, WaitForStep) and "step" in step.wait_for.where:
            filters.append((("steps", i, "wait_for", "where", "step"), step.wait_for.where["step"]))
    for loc, cond in _conditions(journey):
        if isinstance(cond, EventCondition) and "step" in cond.where:
            filters.append(((*loc, "where", "step"), cond.where["step"]))
    found = []
    for loc, value in filters:
        for name in value if isinstance(value, list) else [value]:
            if name not in ids:
                found.append((loc, f"step {name!r} is not a step of this journey"))
            elif name in unknown:
                continue
            elif not isinstance(journey.steps[ids[str(name)]], SendEmailStep):
                found.append((loc, f"step {name!r} sends no email, so it has no opens or clicks"))
    return found


def _reachability(journey: Journey, ids: dict[str, int]) -> list[tuple[Loc, str]]:
    graph: dict[str, set[str]] = {}
    for edge in edges(journey):
        graph.setdefault(edge.source, set()).add(edge.target)
    seen, todo = set(), [journey.steps[0].id]
    while todo:
        node = todo.pop()
        if node in seen or node in TERMINAL:
            continue
        seen.add(node)
        todo.extend(graph.get(node, ()))
    return [
        (("steps", ids[s.id], "id"), f"step {s.id!r} can never be reached")
        for s in journey.steps
        if s.id not in seen
    ]


def _instant_loops(journey: Journey, ids: dict[str, int]) -> list[tuple[Loc, str]]:
    """A cycle through steps that never pause would run forever in one tick."""
    pausing = {s.id for s in journey.steps if isinstance(s, WaitStep | WaitForStep)}
    graph: dict[str, set[str]] = {}
    for edge in edges(journey):
        if edge.source not in pausing and edge.target not in TERMINAL:
            graph.setdefault(edge.source, set()).add(edge.target)
    found, reported = [], set()
    for start in graph:
        stack, seen = [(start, (start,))], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start and start not in reported:
                    reported.update(path)
                    loop = " -> ".join((*path, start))
                    found.append(
                        (("steps", ids[start], "id"), f"steps loop without a wait: {loop}")
                    )
                elif nxt not in seen and nxt in graph:
                    seen.add(nxt)
                    stack.append((nxt, (*path, nxt)))
    return found


def enroll_targets(journey: Journey) -> list[tuple[Loc, str]]:
    return [
        (("steps", i, "enroll"), step.enroll)
        for i, step in enumerate(journey.steps)
        if hasattr(step, "enroll")
    ]
