"""A journey as a graph of steps: the edges the compiler, the checks and Mermaid share."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.conditions import durations
from chalicelib.journeys.language import (
    BranchStep,
    EndStep,
    EnrollStep,
    HandoffStep,
    Journey,
    SendEmailStep,
    SplitStep,
    Step,
    UpdateStep,
    WaitForStep,
    WaitStep,
    WebhookStep,
)

COMPLETED = "completed"
EXITED = "exited"
HOLDOUT = "holdout"
TERMINAL = (COMPLETED, EXITED, HOLDOUT)

PROCEED = "proceed"
RECEIVED = "received"
TIMED_OUT = "timed_out"
EXIT = "exit"


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    trigger: str
    label: str = ""
    case: int | None = None


def following(journey: Journey) -> dict[str, str]:
    """Where each step goes when it says nothing: its `next`, else the step below it."""
    out: dict[str, str] = {}
    steps = journey.steps
    for i, step in enumerate(steps):
        default = steps[i + 1].id if i + 1 < len(steps) else COMPLETED
        out[step.id] = step.next or default
    return out


def edges(journey: Journey) -> list[Edge]:
    nxt = following(journey)
    out: list[Edge] = []
    for step in journey.steps:
        match step:
            case EndStep():
                out.append(Edge(step.id, COMPLETED, PROCEED))
            case WaitForStep():
                w = step.wait_for
                timeout = f"after {durations.describe(w.timeout)}" if w.timeout else "never"
                out.append(Edge(step.id, w.on_event or nxt[step.id], RECEIVED, "/".join(w.types)))
                if w.timeout:
                    out.append(Edge(step.id, w.on_timeout or nxt[step.id], TIMED_OUT, timeout))
            case BranchStep():
                for i, case in enumerate(step.branch.cases):
                    out.append(Edge(step.id, case.goto, PROCEED, f"case {i + 1}", case=i))
                out.append(Edge(step.id, step.branch.otherwise or nxt[step.id], PROCEED, "else"))
            case SplitStep():
                for i, path in enumerate(step.split):
                    target = HOLDOUT if path.holdout else str(path.goto)
                    out.append(Edge(step.id, target, PROCEED, f"{path.percent}%", case=i))
            case _:
                out.append(Edge(step.id, nxt[step.id], PROCEED))
    return out


def detours(journey: Journey) -> dict[str, list[tuple[str, str]]]:
    """Where each step goes, (target, label), for the steps that do not simply go on to the
    one listed below them: a branch, a wait for an event with its timeout, a jump, an end
    (the dashboard draws an arrow down only where the journey goes down)."""
    order = [step.id for step in journey.steps]
    below = dict(zip(order, [*order[1:], None], strict=True))
    out: dict[str, list[tuple[str, str]]] = {}
    for edge in edges(journey):
        out.setdefault(edge.source, []).append((edge.target, edge.label))
    return {
        step: ways
        for step, ways in out.items()
        if not (len(ways) == 1 and ways[0][0] == below[step] and not ways[0][1])
    }


def describe(step: Step) -> str:
    """A one-line summary of what a step does, for graphs and timelines."""
    match step:
        case SendEmailStep():
            return f"email {step.send_email.template}"
        case WaitStep():
            w = step.wait
            if w.for_ is not None:
                return f"wait {durations.describe(w.for_)}"
            assert w.until is not None
            if w.until.date_field:
                yearly = " (yearly)" if w.until.yearly else ""
                return f"wait until {w.until.date_field}{yearly} {w.until.at:%H:%M}"
            days = "/".join(d.value for d in w.until.weekdays)
            return f"wait until {days} {w.until.at:%H:%M}"
        case WaitForStep():
            return f"wait for {'/'.join(step.wait_for.types)}"
        case BranchStep():
            return "branch"
        case SplitStep():
            return "split " + "/".join(str(p.percent) for p in step.split)
        case UpdateStep():
            return "update contact"
        case HandoffStep():
            return "hand off to sales"
        case WebhookStep():
            return "webhook"
        case EnrollStep():
            return f"enroll in {step.enroll}"
        case EndStep():
            return "end"
    return type(step).__name__


def mermaid(journey: Journey) -> str:
    """The journey as a Mermaid flowchart (paste into GitHub, GitLab or mermaid.live)."""
    trigger = journey.trigger.event or f"segment {journey.trigger.segment}"
    where = " ".join(f"{k}={v}" for k, v in journey.trigger.where.items())
    lines = [
        "flowchart TD",
        f'  start(["{_quote(trigger + (" " + where if where else ""))}"])',
        f"  start --> {_node(journey.steps[0].id)}",
    ]
    for step in journey.steps:
        shape = ('{"', '"}') if isinstance(step, BranchStep | SplitStep) else ('["', '"]')
        text = f"{step.id}<br/>{describe(step)}"
        lines.append(f"  {_node(step.id)}{shape[0]}{_quote(text)}{shape[1]}")
    used_terminals = set()
    for edge in edges(journey):
        label = f"|{_quote(edge.label)}|" if edge.label else ""
        lines.append(f"  {_node(edge.source)} -->{label} {_node(edge.target)}")
        if edge.target in TERMINAL:
            used_terminals.add(edge.target)
    for terminal in sorted(used_terminals):
        lines.append(f"  {_node(terminal)}((({terminal})))")
    if journey.exit_when:
        lines.append(f"  %% leaves early when any of {len(journey.exit_when)} exit goals holds")
    return "\n".join(lines) + "\n"


def _node(step_id: str) -> str:
    return "s_" + step_id.replace("-", "_")


def _quote(text: str) -> str:
    return text.replace('"', "#quot;")
