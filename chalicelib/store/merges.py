"""A merge's writes: everything that names the merged-away contact comes to the survivor.

Each step can run again: events are copied under their own ids, keys move only from the
merged contact, enrollments are put before they are deleted, and the last transaction (the
survivor's new profile, the merged contact's tombstone and the `contacts_merged` event) is
conditioned on both contacts' versions. A merge stopped half-way is finished by running it
again; a finished one is refused (the tombstone says where the contact went).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import DeleteError, TransactWriteError, UpdateError

from chalicelib.events import Event
from chalicelib.store import event_log as event_rows
from chalicelib.store import optimistic, tables
from chalicelib.store.changes import AlreadyDone
from chalicelib.store.models import (
    ContactKeyModel,
    ContactModel,
    CounterModel,
    EnrollmentModel,
    EventModel,
    SegmentMemberModel,
    TimerModel,
)
from chalicelib.store.optimistic import Stale
from chalicelib.store.segments import size_key

ENDED = "merged"
"""The end reason of an enrollment that would have run a journey twice."""


class MergeStore:
    def __init__(self, event_shards: int) -> None:
        self.event_shards = event_shards

    def pending_events(self, source: str) -> int:
        """Events of the contact the pipeline has not processed yet."""
        return sum(
            1
            for item in EventModel.query(source, attributes_to_get=["event_id", "pending_shard"])
            if item.pending_shard
        )

    def copy_events(self, source: str, target: str) -> list[str]:
        """The source's processed events, copied under the target with the same ids (and
        `merged_from`); a copy is not pending, so the pipeline does not run it again. The ids
        copied come back: only those are deleted from the source."""
        copied = []
        with EventModel.batch_write() as batch:
            for item in EventModel.query(source, consistent_read=True):
                if item.pending_shard:
                    continue  # the pipeline's still: it stays, and resolves to the target
                item.contact_id = target
                item.properties = {**(tables.plain(item.properties) or {}), "merged_from": source}
                batch.save(item)
                copied.append(item.event_id)
        return copied

    def drop_events(self, source: str, event_ids: list[str]) -> None:
        with EventModel.batch_write() as batch:
            for event_id in event_ids:
                batch.delete(EventModel(source, event_id))

    def move_keys(self, keys: list[str], source: str, target: str) -> list[str]:
        """Point the source's keys at the target; keys another contact holds stay there."""
        moved = []
        for key in keys:
            if not tables.can_be_key(key):
                continue
            try:
                ContactKeyModel(key).update(
                    actions=[ContactKeyModel.contact_id.set(target)],
                    condition=ContactKeyModel.contact_id == source,
                )
                moved.append(key)
            except UpdateError:
                continue
        return moved

    def move_enrollments(self, source: str, target: str, now: datetime) -> tuple[int, int]:
        """The source's enrollments, under the target. One in a journey the target is in now
        ends (`merged`) instead of running the journey a second time. (moved, ended)"""
        running = {
            e.journey_id
            for e in EnrollmentModel.query(target, consistent_read=True)
            if not e.ended_at
        }
        moved = ended = 0
        for item in EnrollmentModel.query(source, consistent_read=True):
            for _ in range(optimistic.ATTEMPTS):
                if self._move(item, target, running, now):
                    break
                item = EnrollmentModel.get(source, item.key, consistent_read=True)
            moved += 1
            ended += item.end_reason == ENDED
        return moved, ended

    @staticmethod
    def _move(item: EnrollmentModel, target: str, running: set[str], now: datetime) -> bool:
        """Put the enrollment under the target and delete the source's, unless the tick
        advanced it meanwhile (then the copy goes and the caller reads it again)."""
        source, revision = item.contact_id, item.revision
        copy = EnrollmentModel.from_raw_data(item.serialize())
        copy.contact_id = target
        if not copy.ended_at and copy.journey_id in running:
            copy.ended_at, copy.end_reason, copy.state = now, ENDED, "exited"
            copy.due_at = copy.due_shard = None
        elif not copy.ended_at:
            running.add(copy.journey_id)
        copy.save()
        try:
            EnrollmentModel(source, item.key).delete(condition=EnrollmentModel.revision == revision)
        except DeleteError:
            copy.delete()
            return False
        item.end_reason = copy.end_reason
        return True

    def move_timers(self, source: str, target: str) -> int:
        """The source's timers (an SLA, a follow-up, decay, a rule's wait) under the target,
        unless the target has its own of that name; the source's are deleted."""
        theirs = {t.name for t in TimerModel.query(target, consistent_read=True)}
        moved = 0
        for item in TimerModel.query(source, consistent_read=True):
            if item.name not in theirs:
                copy = TimerModel.from_raw_data(item.serialize())
                copy.contact_id = target
                copy.save()
                moved += 1
            item.delete()
        return moved

    def move_memberships(
        self, segments: set[str], lists: set[str], source: str, target: str, now: datetime
    ) -> None:
        """Each of the source's memberships in its own small transaction, conditioned on the
        source's item still being there, so a merge run again moves and counts nothing twice:
        a list's goes to the target (unless it is on it); any other is one member fewer (the
        target earns its own segments)."""
        mine = {
            m.segment
            for s in segments
            for m in SegmentMemberModel.query(s, SegmentMemberModel.contact_id == target)
        }
        for segment in sorted(segments):
            gone = SegmentMemberModel(segment, source)
            items: list[tables.Write] = [
                ("delete", gone, {"condition": SegmentMemberModel.contact_id.exists()})
            ]
            if segment in lists and segment not in mine:
                items.append(("save", SegmentMemberModel(segment, target, entered_at=now), {}))
            else:
                counter = CounterModel(size_key(segment))
                items.append(("update", counter, {"actions": [CounterModel.value.add(-1)]}))
            try:
                tables.transact(items)
            except TransactWriteError as exc:
                if not tables.failed_conditions(exc):
                    raise

    def finish(
        self,
        survivor: dict[str, Any],
        other: dict[str, Any],
        attributes: dict[str, Any],
        event: Event,
        now: datetime,
    ) -> None:
        """One transaction: the survivor's profile, the other's tombstone and the event.
        Stale if either contact changed since it was read; AlreadyDone if it was written."""
        items: list[tables.Write] = []
        actions = [ContactModel.version.add(1), ContactModel.updated_at.set(now)]
        for name, value in attributes.items():
            attr = getattr(ContactModel, name)
            actions.append(attr.remove() if value in (None, {}, set()) else attr.set(value))
        items.append(
            (
                "update",
                ContactModel(survivor["id"]),
                {"actions": actions, "condition": ContactModel.version == survivor["version"]},
            )
        )
        tomb = ContactModel(
            id=other["id"],
            merged_into=survivor["id"],
            created_at=other["created_at"],
            updated_at=now,
            created_by_event=other.get("created_by_event") or event.event_id,
            version=int(other["version"]) + 1,
        )
        items.append(("save", tomb, {"condition": ContactModel.version == other["version"]}))
        row = event_rows.to_model(event, self.event_shards)
        items.append(("save", row, {"condition": event_rows.new_item_condition()}))
        try:
            tables.transact(items)
        except TransactWriteError as exc:
            failed = tables.failed_conditions(exc)
            if 2 in failed:
                raise AlreadyDone(event.event_id) from exc
            if failed or tables.conflicted(exc.cancellation_reasons or []):
                raise Stale(f"{survivor['id']} or {other['id']} changed during the merge") from exc
            raise
