"""What a marketer asks of broadcasts: which there are, what one would do now, schedule and
cancel one, and how one is going. The run itself is `broadcaster.py`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from chalicelib.broadcasts import plan
from chalicelib.broadcasts.language import Broadcast
from chalicelib.clock import Clock
from chalicelib.content.emails import subject_syntax
from chalicelib.errors import Conflict, FieldError, FormValidationError, NotFound
from chalicelib.events import UNSUBSCRIBED
from chalicelib.services.broadcaster import Broadcaster
from chalicelib.store.broadcast_library import BroadcastLibrary
from chalicelib.store.broadcasts import BroadcastStore, as_dict
from chalicelib.store.segment_library import SegmentLibrary
from chalicelib.store.segments import SegmentMembers
from chalicelib.store.template_library import TemplateLibrary

PAST = timedelta(minutes=5)  # a send time this far back is a mistake, not "now"
SKIP_REASONS = (
    "excluded",
    "frequency_cap",
    "invalid_address",
    "suppressed",
    UNSUBSCRIBED,
    "no_consent",
    "cancelled",
)


@dataclass
class Preview:
    """What a run would do now: the audience, who gets which variant when, who is skipped."""

    audience: int = 0
    sends: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    waves: Counter[str] = field(default_factory=Counter)
    untested: str | None = None
    """The variant everyone gets when the test's share took no one (the first listed)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "audience": self.audience,
            "sends": dict(sorted(self.sends.items())),
            "skipped": dict(sorted(self.skipped.items())),
            "waves": dict(sorted(self.waves.items())),
            "untested": self.untested,
        }


class BroadcastDesk:
    def __init__(
        self,
        *,
        library: BroadcastLibrary,
        store: BroadcastStore,
        members: SegmentMembers,
        segments: SegmentLibrary,
        templates: TemplateLibrary,
        broadcaster: Broadcaster,
        clock: Clock,
    ) -> None:
        self.library = library
        self.store = store
        self.members = members
        self.segments = segments
        self.templates = templates
        self.broadcaster = broadcaster
        self.clock = clock

    def save(self, broadcast_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Publish a broadcast sent as JSON (the fields of a broadcast file): checked like a
        file, against the segments, templates and topics that are live."""
        if broadcast_id in self.library.from_files():
            raise Conflict(
                f"{broadcast_id} is marketing/broadcasts/{broadcast_id}.yaml: change the file "
                "and publish it"
            )
        if "id" in body:
            raise FormValidationError([FieldError("id", "the id is in the URL; remove id")])
        try:
            broadcast = Broadcast.model_validate({**body, "id": broadcast_id})
        except ValidationError as exc:
            raise FormValidationError(_field_errors(exc)) from None
        problems = self._references(broadcast)
        if problems:
            raise FormValidationError(problems)
        version, changed = self.library.publish(broadcast)
        return {"id": broadcast_id, "version": version, "changed": changed}

    def _references(self, broadcast: Broadcast) -> list[FieldError]:
        """What validate checks across files: the segments, templates and topic exist."""
        live = self.segments.live_versions()
        audience = broadcast.audience
        found = [
            FieldError(field, f"there is no segment {name!r}")
            for field, name in [
                ("audience.segment", audience.segment),
                *((f"audience.exclude.{i}", s) for i, s in enumerate(audience.exclude)),
            ]
            if name not in live
        ]
        emails = [("email.template", broadcast.email.template)]
        emails += [
            (f"ab_test.variants.{i}.template", v.template)
            for i, v in enumerate(broadcast.variants)
            if v.template
        ]
        found += [
            FieldError(field, f"there is no published template {name!r}")
            for field, name in emails
            if self.templates.get(name) is None
        ]
        subjects = [("email.subject", broadcast.email.subject)]
        subjects += [
            (f"ab_test.variants.{i}.subject", v.subject)
            for i, v in enumerate(broadcast.variants)
            if v.subject
        ]
        found += [
            FieldError(field, problem)
            for field, subject in subjects
            if (problem := subject_syntax(subject))
        ]
        topics = self.templates.settings().topics
        if broadcast.email.topic != "marketing" and broadcast.email.topic not in topics:
            found.append(FieldError("email.topic", "is not a topic templates/brand.yaml lists"))
        return found

    def definition(self, broadcast_id: str) -> tuple[Broadcast, int]:
        found = self.library.newest(broadcast_id)
        if found is None:
            known = ", ".join(sorted(self.library.live())) or "none is published"
            raise NotFound(f"no published broadcast {broadcast_id!r} ({known})")
        return found

    def schedule(self, broadcast_id: str, at: str | None = None, by: str = "cli") -> dict:
        """Schedule the newest published version at its send_at, or at `at` (ISO time,
        local without an offset for a local-time broadcast, or `now`)."""
        broadcast, version = self.definition(broadcast_id)
        now = self.clock.now()
        if at == "now" and broadcast.local_time:
            raise FormValidationError(
                [
                    FieldError(
                        "at",
                        "a local-time broadcast goes at a time of day in each contact's zone: "
                        "give one like 2026-12-08T09:00, not now",
                    )
                ]
            )
        when = now.replace(microsecond=0).isoformat() if at == "now" else at
        broadcast = self._at(broadcast, when)
        starts = plan.send_time(broadcast)
        if starts < now - PAST and at != "now":
            raise FormValidationError(
                [
                    FieldError(
                        "at",
                        f"{broadcast.send_at.isoformat()} has passed; give a later time or now",
                    )
                ]
            )
        state = self.store.schedule(
            broadcast_id, version, broadcast.send_at.isoformat(), starts, by, now
        )
        if state is None:
            current = self.store.get(broadcast_id)
            status = current.status if current else "unknown"
            raise Conflict(
                f"broadcast {broadcast_id} has already started ({status}); "
                "a broadcast goes to each contact once"
            )
        return self.status(broadcast_id)

    @staticmethod
    def _at(broadcast: Broadcast, at: str | None) -> Broadcast:
        if at is None:
            return broadcast
        try:
            return Broadcast.model_validate({**broadcast.to_body(), "send_at": at})
        except ValidationError as exc:
            message = _field_errors(exc)[0].message
            raise FormValidationError([FieldError("at", message)]) from None

    def cancel(self, broadcast_id: str) -> dict:
        if not self.store.cancel(broadcast_id, self.clock.now()):
            state = self.store.get(broadcast_id)
            if state is None:
                raise NotFound(f"broadcast {broadcast_id} was never scheduled")
            raise Conflict(f"broadcast {broadcast_id} is {state.status}: nothing left to cancel")
        return self.status(broadcast_id)

    def status(self, broadcast_id: str) -> dict[str, Any]:
        """The run's state with what its emails did, per variant and per skip reason."""
        state = self.store.get(broadcast_id)
        if state is None:
            draft, version = self.definition(broadcast_id)
            return {
                "id": broadcast_id,
                "name": draft.name,
                "version": version,
                "status": "draft",
                "send_at": draft.send_at.isoformat(),
            }
        broadcast = self.library.version(broadcast_id, int(state.version))
        arms = [v.id for v in broadcast.variants] if broadcast and broadcast.ab_test else []
        arms = arms or [plan.MAIN]
        keys = [(a, m) for a in arms for m in ("sent", "opened", "clicked")]
        keys += [("skipped", r) for r in SKIP_REASONS] + [("failed", "any")]
        counts = self.store.counts(broadcast_id, keys)
        variants = {a: {m: counts[(a, m)] for m in ("sent", "opened", "clicked")} for a in arms}
        skipped = {r: counts[("skipped", r)] for r in SKIP_REASONS if counts[("skipped", r)]}
        body = as_dict(state)
        body.update(
            name=broadcast.name if broadcast else broadcast_id,
            variants=variants,
            skipped=skipped,
            failed=counts[("failed", "any")],
        )
        return body

    def list(self) -> list[dict[str, Any]]:
        """Every published broadcast with its run, if it has one."""
        runs = {s.id: s for s in self.store.all()}
        out = []
        for broadcast_id, version in sorted(self.library.live().items()):
            b = self.library.version(broadcast_id, version)
            state = runs.pop(broadcast_id, None)
            out.append(
                {
                    "id": broadcast_id,
                    "name": b.name if b else broadcast_id,
                    "version": version,
                    "audience": b.audience.segment if b else None,
                    "status": state.status if state else "draft",
                    "send_at": state.send_at if state else (b.send_at.isoformat() if b else None),
                }
            )
        for state in runs.values():  # runs whose file was since removed
            out.append(
                {
                    "id": state.id,
                    "name": state.id,
                    "version": int(state.version),
                    "audience": None,
                    "status": state.status,
                    "send_at": state.send_at,
                }
            )
        return out

    def preview(self, broadcast_id: str, at: str | None = None) -> Preview:
        """Decide every contact of the audience as a run would now, writing nothing."""
        broadcast, _ = self.definition(broadcast_id)
        broadcast = self._at(broadcast, at)
        out = Preview()
        after = None
        while True:
            page, after = self.members.page(
                broadcast.audience.segment, self.broadcaster.page, after
            )
            for decided in self.broadcaster.decide(
                broadcast, [m.contact_id for m in page]
            ).values():
                out.audience += 1
                if isinstance(decided, plan.Skip):
                    out.skipped[decided.reason] += 1
                else:
                    out.sends[decided.variant] += 1
                    out.waves[decided.at.isoformat()] += 1
            if after is None:
                test = broadcast.ab_test
                if test is not None and set(out.sends) == {plan.WINNER}:
                    # Too small an audience for the share: the verdict has nothing to judge.
                    out.untested = test.variants[0].id
                return out


def _field_errors(exc: ValidationError) -> list[FieldError]:
    """Pydantic's complaints, each named by its dotted field (`ab_test.variants.0.id`)."""
    return [
        FieldError(
            ".".join(str(part) for part in error["loc"]) or "body",
            str(error["msg"]).removeprefix("Value error, "),
        )
        for error in exc.errors()
    ]
