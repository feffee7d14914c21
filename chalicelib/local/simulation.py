"""`leadflow simulate`: the real engine, store and pipeline on an in-memory AWS and a fake clock.

Nothing is mocked of our own: the contact is recorded as a form post records it, events run
through the same processor, and time-based steps through the same tick. Only AWS is emulated
(moto, in memory) and time jumps straight to the next thing due.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib import events as ev
from chalicelib import ids
from chalicelib.clock import FakeClock
from chalicelib.conditions import durations
from chalicelib.events import (
    CATALOGUE,
    FORM_SUBMITTED,
    JOURNEY_ENTERED,
    SEGMENT_ENTERED,
    Event,
)
from chalicelib.journeys.engine import SOURCE
from chalicelib.leads import normalise
from chalicelib.leads.identity import Identity
from chalicelib.leads.intake import Intake

_SCRIPT = re.compile(
    r"^\s*(?P<after>(?:\d+\s*[wdhms]\s*)+)\s+(?P<type>[a-z][a-z0-9_]*)(?P<props>.*)$"
)
TOP_LEVEL = ("stage", "score", "tags", "segments")


class ScriptError(ValueError):
    pass


class SimulationError(RuntimeError):
    """The engine failed on this journey: a bug to report, shown instead of looping."""


@dataclass(frozen=True)
class Scripted:
    """An event the contact does during the simulation: `2d email_clicked step=case-study`."""

    after: timedelta
    type: str
    properties: dict[str, Any]
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> Scripted:
        match = _SCRIPT.match(text)
        if not match:
            raise ScriptError(
                f"--event {text!r}: write an offset, an event name and key=value pairs, "
                "like '2d email_clicked step=case-study'"
            )
        props: dict[str, Any] = {}
        for pair in match["props"].split():
            key, sep, value = pair.partition("=")
            if not sep or not key:
                raise ScriptError(f"--event {text!r}: {pair!r} is not key=value")
            props[key] = value
        return cls(durations.parse(match["after"]), match["type"], props, text.strip())


@dataclass
class Line:
    at: datetime
    step: str
    action: str
    detail: str


@dataclass
class Result:
    journey: str
    version: int
    contact_id: str
    zone: str
    start: datetime
    end: datetime
    lines: list[Line] = field(default_factory=list)
    entered: bool = False
    note: str = ""
    warnings: list[str] = field(default_factory=list)


# What Leadflow itself records about a contact, whether or not content reads it.
RECORDED = frozenset(CATALOGUE)


def _events_named(body: Any) -> Iterator[str]:
    """Every event name a content file mentions (`event:` keys, a name or a list)."""
    if isinstance(body, dict):
        for key, value in body.items():
            if key == "event":
                yield from [value] if isinstance(value, str) else value or ()
            else:
                yield from _events_named(value)
    elif isinstance(body, list):
        for item in body:
            yield from _events_named(item)


def script_warnings(
    journey: Any, bodies: Iterable[dict[str, Any]], script: list[Scripted]
) -> list[str]:
    """What a scripted event names that exists nowhere: it would change nothing, silently."""
    from chalicelib.journeys.language import SendEmailStep

    known = set(RECORDED)
    for body in bodies:
        known.update(n for n in _events_named(body) if isinstance(n, str))
    steps = {step.id: step for step in journey.steps}
    found = []
    for scripted in script:
        text = f"--event {scripted.text!r}"
        if scripted.type not in known:
            close = difflib.get_close_matches(scripted.type, sorted(known), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            found.append(
                f"{text}: no journey, scoring or rule reads {scripted.type}, and Leadflow does not "
                f"record it{hint}"
            )
        step = scripted.properties.get("step")
        if step is None:
            continue
        if step not in steps:
            close = difflib.get_close_matches(str(step), sorted(steps), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            found.append(f"{text}: journey {journey.id} has no step {step!r}{hint}")
        elif scripted.type.startswith("email_") and not isinstance(steps[step], SendEmailStep):
            found.append(f"{text}: step {step!r} sends no email, so nothing matches this")
    return found


def _subject(source: str, profile: dict[str, Any]) -> str:
    """The subject line as this contact would read it (as written, if it cannot render)."""
    from chalicelib.messaging.renderer import MissingValue, Renderer
    from chalicelib.services.sender import contact_view

    try:
        return Renderer().subject(source, {"contact": contact_view(profile)})
    except MissingValue:
        return source


def _describe(event: Event, profile: dict[str, Any]) -> tuple[str, str]:
    p = event.properties
    match event.type:
        case ev.JOURNEY_ENTERED:
            return "entered", f"trigger {p.get('trigger')}"
        case ev.EMAIL_QUEUED:
            subject = _subject(str(p.get("subject", "")), profile)
            return "email", f"{subject!r} (template {p.get('template')})"
        case ev.SEND_DEFERRED:
            return "deferred", str(p.get("reason"))
        case ev.BRANCH_TAKEN:
            return "branch", f"{p.get('path')} -> {p.get('goto')}: {p.get('reason')}"
        case ev.SPLIT_ASSIGNED:
            return "split", f"-> {p.get('path')} (bucket {p.get('bucket')})"
        case ev.WAIT_MATCHED:
            return "event arrived", str(p.get("event"))
        case ev.WAIT_TIMED_OUT:
            return "timed out", f"no {p.get('waited_for')}"
        case ev.CONTACT_UPDATED:
            return "update", str(p.get("changes"))
        case ev.STAGE_CHANGED:
            return "stage", f"{p.get('from') or 'none'} -> {p.get('to')}"
        case ev.HANDOFF_REQUESTED:
            return "handoff", f"priority {p.get('priority')}: {p.get('reason') or ''}".strip()
        case ev.WEBHOOK_QUEUED:
            return "webhook", str(p.get("url") or f"${p.get('url_env')}")
        case ev.JOURNEY_ENROLLMENT_REQUESTED:
            return "enroll", str(p.get("target_journey"))
        case ev.JOURNEY_COMPLETED:
            return p.get("outcome", "completed"), str(p.get("reason"))
        case ev.JOURNEY_EXITED:
            return "exited", str(p.get("reason"))
        case ev.JOURNEY_CONVERTED:
            return "converted", f"goal {p.get('goal')}"
    return event.type, " ".join(f"{k}={v}" for k, v in p.items() if k not in ("journey", "version"))


class Simulation:
    def __init__(self, root: Path, start: datetime | None = None) -> None:
        self.root = root
        self.clock = FakeClock(start or datetime.now(UTC).replace(second=0, microsecond=0))

    def run(
        self, journey_id: str, contact: dict[str, Any], script: list[Scripted], days: float
    ) -> Result:
        from moto import mock_aws

        os.environ.update(
            AWS_ACCESS_KEY_ID="simulate",
            AWS_SECRET_ACCESS_KEY="simulate",
            AWS_DEFAULT_REGION="us-east-1",
        )
        os.environ.pop("AWS_ENDPOINT_URL", None)
        with mock_aws():
            return self._run(journey_id, contact, script, days)

    def _run(
        self, journey_id: str, contact: dict[str, Any], script: list[Scripted], days: float
    ) -> Result:
        from chalicelib import bootstrap
        from chalicelib.config import Settings
        from chalicelib.content import catalog
        from chalicelib.services import publisher
        from chalicelib.store import tables

        settings = Settings.from_env(
            {
                "LEADFLOW_TABLE_PREFIX": "simulate-",
                "AWS_REGION": "us-east-1",
                # Emails are rendered with signed links; nothing leaves the simulation.
                "LEADFLOW_SIGNING_SECRET": "simulation-only-not-a-secret",
                # One contact meets no one: one shard of each index, so that each sweep and
                # tick is one Query, not one a shard.
                "LEADFLOW_PENDING_SHARDS": "1",
                "LEADFLOW_DUE_SHARDS": "1",
            }
        )
        svc = bootstrap.build(settings, self.clock)
        tables.create_all()
        svc.queues.create_all()
        content = catalog.load(self.root)
        content.raise_for_problems()
        if journey_id not in content.journeys:
            known = ", ".join(sorted(content.journeys)) or "none"
            raise LookupError(f"no journey {journey_id!r} in {self.root} (journeys: {known})")
        publisher.publish(content, svc.content)
        journey = content.journeys[journey_id]
        start = self.clock.now()
        end = start + timedelta(days=days)
        contact_id, cause = self._record_contact(svc, journey, contact)
        version = svc.content.current_version("journey", journey_id) or 0
        profile = svc.contacts.get(contact_id) or {}
        zone = (profile.get("properties") or {}).get("timezone") or journey.timezone
        result = Result(journey_id, version, contact_id, zone, start, end)
        bodies = [*content.journey_bodies.values(), *content.lead_bodies.values()]
        result.warnings = script_warnings(journey, bodies, script)
        queue = sorted(script, key=lambda s: s.after)
        for _ in self._steps(svc, queue, start, end, journey_id, contact_id):
            pass
        for event in svc.events.timeline(contact_id, limit=5000, newest_first=False):
            if event.occurred_at < start:
                continue
            if event.source == SOURCE and event.properties.get("journey") != journey_id:
                continue
            if event.source != SOURCE and event.event_id != cause and event.source != "simulate":
                continue
            action, detail = _describe(event, profile)
            step = str(event.properties.get("step", "")) if event.source == SOURCE else "(contact)"
            result.lines.append(Line(event.occurred_at, step, action, detail))
            result.entered |= event.type == JOURNEY_ENTERED
        result.lines.sort(key=lambda line: (line.at, line.step != "(contact)"))
        if not result.entered:
            result.note = self._why_not(svc, journey_id, contact_id)
        return result

    def _record_contact(self, svc: Any, journey: Any, contact: dict[str, Any]) -> tuple[str, str]:
        email = normalise.email(contact.get("email") or "simulated@example.com")
        trigger = journey.trigger
        event_type = trigger.event or SEGMENT_ENTERED
        props = {k: (v[0] if isinstance(v, list) else v) for k, v in trigger.where.items()}
        if trigger.segment:
            props = {"segment": trigger.segment}
        profile = {k: v for k, v in contact.items() if k not in ("email", "phone", *TOP_LEVEL)}
        now = self.clock.now()
        event_id = ids.event_id(now)
        recorded = svc.contacts.record(
            Intake(
                identity=Identity(email=email),
                event_type=event_type,
                event_id=event_id,
                occurred_at=now,
                source="simulate",
                event_properties=props,
                profile=profile,
                is_submission=event_type == FORM_SUBMITTED,
            )
        )
        self._set_top_level(recorded.contact_id, contact)
        return recorded.contact_id, event_id

    @staticmethod
    def _set_top_level(contact_id: str, contact: dict[str, Any]) -> None:
        from chalicelib.store.models import ContactModel

        actions = []
        if contact.get("stage"):
            actions.append(ContactModel.stage.set(str(contact["stage"])))
        if contact.get("score") is not None:
            actions.append(ContactModel.score.set(int(contact["score"])))
        for name in ("tags", "segments"):
            if contact.get(name):
                actions.append(getattr(ContactModel, name).set(set(map(str, contact[name]))))
        if actions:
            ContactModel(contact_id).update(actions=actions)

    def _steps(
        self,
        svc: Any,
        queue: list[Scripted],
        start: datetime,
        end: datetime,
        journey_id: str,
        contact_id: str,
    ) -> Iterator[datetime]:
        from chalicelib.pipeline import sweeper

        # Events of one run carry ids a millisecond apart: look a second ahead for them.
        settle = timedelta(seconds=-1)
        while True:
            while sweeper.sweep(svc.processor, settle).processed:
                pass
            candidates = [svc.enrollments.next_due()]
            if queue:
                candidates.append(start + queue[0].after)
            upcoming = [t for t in candidates if t is not None]
            if not upcoming or min(upcoming) > end:
                return
            self.clock.set(max(min(upcoming), self.clock.now() + timedelta(milliseconds=1)))
            while queue and start + queue[0].after <= self.clock.now():
                self._append(svc, queue.pop(0), journey_id, contact_id)
            while sweeper.sweep(svc.processor, settle).processed:
                pass
            report = svc.journeys.tick()
            if report.failed:
                raise SimulationError(
                    f"{report.failed} enrollment(s) failed to advance at "
                    f"{self.clock.now():%Y-%m-%d %H:%M}"
                )
            yield self.clock.now()

    def _append(self, svc: Any, scripted: Scripted, journey_id: str, contact_id: str) -> None:
        props = dict(scripted.properties)
        if "step" in props:
            props.setdefault("journey", journey_id)
        now = self.clock.now()
        svc.events.append(
            Event(contact_id, ids.event_id(now), scripted.type, now, "simulate", props)
        )

    @staticmethod
    def _why_not(svc: Any, journey_id: str, contact_id: str) -> str:
        for journey in svc.journeys.library.live():
            if journey.id == journey_id:
                facts = svc.journeys.facts(contact_id)
                verdict = svc.journeys.engine.admit(journey, facts, [])
                if not verdict.holds:
                    return f"did not enter: {verdict.reason}"
        return "did not enter: the trigger did not match"


def render(result: Result) -> str:
    zone = ZoneInfo(result.zone)
    head = (
        f"journey {result.journey} v{result.version}, contact {result.contact_id}, "
        f"times in {result.zone}, {result.start.astimezone(zone):%a %Y-%m-%d %H:%M} to "
        f"{result.end.astimezone(zone):%a %Y-%m-%d %H:%M}"
    )
    rows = [head, ""]
    width = max([len(line.step) for line in result.lines] + [4])
    for line in result.lines:
        when = line.at.astimezone(zone)
        rows.append(
            f"{when:%a %Y-%m-%d %H:%M}  {line.step:<{width}}  {line.action:<13}  {line.detail}"
        )
    if result.note:
        rows.append(result.note)
    return "\n".join(rows) + "\n"
