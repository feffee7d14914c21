"""A published journey version, compiled once into a `transitions` Machine.

The machine holds the journey's shape (which trigger leads where, under which condition);
enrollments are plain objects with a `state` attribute that the machine moves without being
bound to it, so one machine serves every enrollment of its version.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from transitions import EventData, Machine

from chalicelib.journeys.graph import EXIT, TERMINAL, edges, following
from chalicelib.journeys.interest import Interest, interest_of
from chalicelib.journeys.language import Journey, Step

Chooser = Callable[[int], bool]


def _case(index: int) -> Callable[[EventData], bool]:
    def holds(event: EventData) -> bool:
        choose: Chooser = event.kwargs["choose"]
        return choose(index)

    return holds


@dataclass(frozen=True)
class CompiledJourney:
    journey: Journey
    version: int
    steps: Mapping[str, Step]
    following: Mapping[str, str]
    machine: Machine
    interest: Interest

    @property
    def id(self) -> str:
        return self.journey.id

    @property
    def first(self) -> str:
        return self.journey.steps[0].id

    def step(self, step_id: str) -> Step:
        return self.steps[step_id]

    def fire(self, model: Any, trigger: str, choose: Chooser | None = None) -> str:
        """Move `model` along `trigger`; `choose(i)` decides conditional paths in order."""
        moved = self.machine.events[trigger].trigger(model, choose=choose or (lambda _i: True))
        if not moved:
            raise RuntimeError(f"{self.id}: no path for {trigger} from {model.state}")
        return model.state


def compile_journey(journey: Journey, version: int) -> CompiledJourney:
    machine = Machine(
        model=None,
        states=[s.id for s in journey.steps] + list(TERMINAL),
        initial=journey.steps[0].id,
        auto_transitions=False,
        send_event=True,
    )
    for edge in edges(journey):
        conditions = [_case(edge.case)] if edge.case is not None else []
        machine.add_transition(edge.trigger, edge.source, edge.target, conditions=conditions)
    machine.add_transition(EXIT, [s.id for s in journey.steps], "exited")
    return CompiledJourney(
        journey,
        version,
        {s.id: s for s in journey.steps},
        following(journey),
        machine,
        interest_of(journey),
    )
