"""RFM, recomputed once a day over the buyers only.

A purchase (the events rfm.yaml names) puts its contact on the buyers list; once a day the
tick recomputes every buyer's scores and tier from their own purchase events (one Query per
buyer), and writes the contacts whose RFM changed, with `rfm_changed`, so segments, branches
and scoring reading `rfm.tier` follow. The cost grows with the buyers, never with the
contacts who never bought.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib import ids
from chalicelib.events import RFM_CHANGED, Event
from chalicelib.pipeline.registry import HandlerContext
from chalicelib.segments.rfm import Buyer, Rfm, RfmSettings, score
from chalicelib.store.changes import Change
from chalicelib.store.counters import Counters
from chalicelib.store.facts import timeline_since
from chalicelib.store.lead_library import LeadLibrary
from chalicelib.store.segments import SegmentMembers
from chalicelib.store.writer import ContactWriter

BUYERS = "rfm:buyers"  # the members table's partition that lists everyone who bought
SOURCE = "rfm"


@dataclass(frozen=True)
class RfmReport:
    buyers: int = 0
    changed: int = 0


class RfmKeeper:
    def __init__(
        self,
        library: LeadLibrary,
        members: SegmentMembers,
        writer: ContactWriter,
        counters: Counters,
    ) -> None:
        self.library = library
        self.members = members
        self.writer = writer
        self.counters = counters

    def settings(self) -> RfmSettings:
        return self.library.rfm() or RfmSettings()

    def on_event(self, event: Event, ctx: HandlerContext) -> None:
        """A purchase puts its buyer on the list the daily run reads (once: a put)."""
        if event.contact_id.startswith("ct_") and event.type in self.settings().purchase_events:
            self.members.add(BUYERS, event.contact_id, event.occurred_at)

    def recompute_if_due(self, now: datetime) -> RfmReport | None:
        """Once a day: the first tick of the day recomputes, and the day is marked done only
        when the run finished, so a run that failed is made again by the next tick. (Two
        ticks racing both compute: harmless, as each writes only what changed, once.)"""
        day = f"rfm:{now:%Y-%m-%d}"
        if self.counters.value(day) != 0:
            return None
        report = self.recompute(now)
        self.counters.next(day)
        return report

    def recompute(self, now: datetime) -> RfmReport:
        settings = self.settings()
        buyers = [
            buyer
            for member in self.members.all(BUYERS)
            if (buyer := self._buyer(member.contact_id, settings)) is not None
        ]
        scored = score(buyers, settings, now)
        changed = 0
        for contact_id, rfm in scored.items():
            wrote = self.writer.write(
                contact_id, lambda contact, at, rfm=rfm: self._decide(contact, rfm, at)
            )
            changed += wrote is not None
        return RfmReport(len(buyers), changed)

    @staticmethod
    def _buyer(contact_id: str, settings: RfmSettings) -> Buyer | None:
        purchases = [
            e for e in timeline_since(contact_id, None) if e.type in settings.purchase_events
        ]
        if not purchases:
            return None
        total = sum(_amount(e.properties.get(settings.amount)) for e in purchases)
        last = max(e.occurred_at for e in purchases)
        return Buyer(contact_id, last, len(purchases), total)

    @staticmethod
    def _decide(contact: dict[str, Any], rfm: Rfm, now: datetime) -> Change | None:
        before = contact.get("rfm") or {}
        if all(before.get(k) == v for k, v in rfm.to_body(now).items() if k != "computed_at"):
            return None
        change = Change.of(contact, rfm=rfm.to_body(now))
        props = {"tier": rfm.tier, "label": rfm.label, "from": before.get("tier")}
        change.events.append(
            Event(
                contact_id=change.contact_id,
                event_id=ids.derived_event_id(now, change.contact_id, RFM_CHANGED, f"{now:%F}"),
                type=RFM_CHANGED,
                occurred_at=now,
                source=SOURCE,
                properties={**props, "r": rfm.r, "f": rfm.f, "m": rfm.m},
            )
        )
        return change


def _amount(value: Any) -> float:
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return 0.0
