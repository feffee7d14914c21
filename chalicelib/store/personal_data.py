"""Everything stored about one person, table by table: gathered for an export, deleted for an
erasure (PIPL articles 45 and 47, GDPR articles 15, 17 and 20).

What holds a contact's id or keys: the contact and its keys, its events, enrollments and
timers, the events its browsers sent before it was known (each visitor id's partition), its
send history, its segment and list memberships, the webhook deliveries made about it (the
ledger), and a suppression of its address. The report counters (stats) are counts by day,
campaign, journey, team and owner, never by person, so they are left as they are and reports
still add up. The suppression of an address stays: it is what keeps the address from being
mailed again, and it names no one else.

An erasure deletes in an order that can be run again after an interruption: the contact, its
keys and its memberships first (so nothing finds the person any more), then the partitions
that only its id reaches. Items that expire on their own within days (idempotency replies,
broadcast send markers, import jobs' rejected rows) are not searched for.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from pynamodb.models import Model

from chalicelib.leads.identity import visitor_partition
from chalicelib.leads.ownership import OPEN, lead_of
from chalicelib.store import tables
from chalicelib.store.counters import open_leads_key
from chalicelib.store.models import (
    ContactKeyModel,
    ContactModel,
    CounterModel,
    EnrollmentModel,
    EventModel,
    LedgerModel,
    SegmentMemberModel,
    SendHistoryModel,
    SuppressionModel,
    TimerModel,
)
from chalicelib.store.segments import size_key

PARTITIONS: tuple[type[Model], ...] = (EventModel, EnrollmentModel, TimerModel)


def _plain(item: Model) -> dict[str, Any]:
    return tables.json_ready(item.attribute_values)


def keys_of(contact: dict[str, Any]) -> list[str]:
    """The contact-key items that name this person (as the forms and imports claim them)."""
    keys = []
    if contact.get("email"):
        keys.append(f"email:{contact['email']}")
    if contact.get("phone"):
        keys.append(f"phone:{contact['phone']}")
    return keys


def visitors_of(contact: dict[str, Any]) -> list[str]:
    """The visitor ids' partitions (and keys: the same text), where each browser's events
    before the person was known are kept."""
    return [visitor_partition(v) for v in sorted(contact.get("visitor_ids") or ())]


class PersonalData:
    """One contact's items across the tables."""

    def gather(self, contact_id: str) -> dict[str, list[dict[str, Any]]]:
        """Every item that holds this contact's id or keys, by table."""
        found: dict[str, list[dict[str, Any]]] = {}
        try:
            contact = ContactModel.get(contact_id, consistent_read=True)
        except ContactModel.DoesNotExist:
            contact = None
        record = _plain(contact) if contact else {}
        found[tables.base_name(ContactModel)] = [record] if record else []
        found[tables.base_name(ContactKeyModel)] = [
            _plain(k)
            for k in ContactKeyModel.batch_get(keys_of(record) + visitors_of(record))
            if k.contact_id == contact_id
        ]
        for model in PARTITIONS:
            found[tables.base_name(model)] = [_plain(i) for i in model.query(contact_id)]
        found[tables.base_name(EventModel)] += [
            _plain(e)
            for partition in self._own_visitors(contact_id, record)
            for e in EventModel.query(partition)
        ]
        history = list(SendHistoryModel.batch_get([contact_id]))
        found[tables.base_name(SendHistoryModel)] = [_plain(h) for h in history]
        found[tables.base_name(SegmentMemberModel)] = [
            _plain(m) for m in self._memberships(contact_id, record)
        ]
        address = record.get("email")
        suppressed = list(SuppressionModel.batch_get([address])) if address else []
        found[tables.base_name(SuppressionModel)] = [_plain(s) for s in suppressed]
        found[tables.base_name(LedgerModel)] = [_plain(e) for e in self._deliveries(contact_id)]
        return found

    def erase(self, contact_id: str, segments: Iterable[str]) -> dict[str, int]:
        """Delete this contact's items everywhere; counts by table. Safe to run again."""
        counts: dict[str, int] = {}
        try:
            contact = _plain(ContactModel.get(contact_id, consistent_read=True))
        except ContactModel.DoesNotExist:
            contact = {}
        if contact:
            # The browsers' partitions first: only the contact leads to them.
            own = self._own_visitors(contact_id, contact)
            before = sum(_delete_all(EventModel.query(p)) for p in own)
            counts.update(self._forget_contact(contact_id, contact, segments))
            counts["visitor-events"] = before
        for model in PARTITIONS:
            counts[tables.base_name(model)] = _delete_all(model.query(contact_id))
        counts[tables.base_name(SendHistoryModel)] = _delete_all(
            SendHistoryModel.batch_get([contact_id])
        )
        counts[tables.base_name(LedgerModel)] = _delete_all(self._deliveries(contact_id))
        return counts

    def _own_visitors(self, contact_id: str, contact: dict[str, Any]) -> list[str]:
        """The visitor partitions this person's key still holds: a browser shared with
        someone else, whose key now names them, keeps its history for them."""
        keys = ContactKeyModel.batch_get(visitors_of(contact))
        return sorted(k.key for k in keys if k.contact_id == contact_id)

    def _forget_contact(
        self, contact_id: str, contact: dict[str, Any], segments: Iterable[str]
    ) -> dict[str, int]:
        """The contact, its keys and its open-lead count in one transaction; then each
        membership with its segment's size, as a merge moves them (store/merges.py)."""
        every = keys_of(contact) + visitors_of(contact)
        keys = [k for k in ContactKeyModel.batch_get(every) if k.contact_id == contact_id]
        items: list[tables.Write] = [("delete", ContactModel(contact_id), {})]
        items += [("delete", ContactKeyModel(k.key), {}) for k in keys]
        lead = lead_of(contact)
        if lead.get("status") in OPEN and lead.get("owner"):
            counter = CounterModel(open_leads_key(str(lead["owner"])))
            items.append(("update", counter, {"actions": [CounterModel.value.add(-1)]}))
        tables.transact(items)
        members = list(self._memberships(contact_id, contact, segments))
        for member in members:
            gone = ("delete", member, {"condition": SegmentMemberModel.contact_id.exists()})
            counter = CounterModel(size_key(member.segment))
            size = ("update", counter, {"actions": [CounterModel.value.add(-1)]})
            try:
                tables.transact([gone, size])
            except tables.TransactWriteError as exc:
                if not tables.failed_conditions(exc):
                    raise
        return {
            tables.base_name(ContactModel): 1,
            tables.base_name(ContactKeyModel): len(keys),
            tables.base_name(SegmentMemberModel): len(members),
        }

    def _memberships(
        self, contact_id: str, contact: dict[str, Any], segments: Iterable[str] = ()
    ) -> Iterator[SegmentMemberModel]:
        """The contact's members items: of the segments it records, and of any other
        segment or list named (static lists are not on the contact)."""
        names = sorted(set(contact.get("segments") or ()) | set(segments))
        wanted = [(name, contact_id) for name in names if tables.can_be_key(name)]
        yield from SegmentMemberModel.batch_get(wanted)

    def _deliveries(self, contact_id: str) -> Iterator[LedgerModel]:
        """The webhook and notice deliveries about this contact: their keys from the ledger's
        by-contact index, then the entries themselves."""
        keys = [entry.key for entry in LedgerModel.by_contact.query(contact_id)]
        return LedgerModel.batch_get(keys) if keys else iter(())


def _delete_all(items: Iterable[Model]) -> int:
    n = 0
    batch: list[Model] = []
    for item in items:
        batch.append(item)
        if len(batch) == 25:
            n += _delete_batch(batch)
            batch = []
    return n + (_delete_batch(batch) if batch else 0)


def _delete_batch(items: list[Model]) -> int:
    model = type(items[0])
    with model.batch_write() as writer:
        for item in items:
            writer.delete(item)
    return len(items)
