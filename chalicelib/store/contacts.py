"""Contacts: race-free upsert of a person and the event about them in one transaction.

No read happens before the write. The first attempt assumes a new contact at the id derived
from the identity; a writer that loses that condition learns from the cancellation that the
contact exists and tries again with an update. The update changes each attribute on its own
(latest wins, first stays, counters add), so posts of one person racing each other all land
instead of fighting over the contact's version. A new lead costs one DynamoDB call, a
returning one two, an idempotent retry one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pynamodb.constants import ALL_OLD
from pynamodb.exceptions import TransactWriteError

from chalicelib.errors import Busy, FieldError, FormValidationError
from chalicelib.events import Event
from chalicelib.leads import normalise
from chalicelib.leads.intake import Intake, new_contact, profile_merge
from chalicelib.store import event_log as event_rows
from chalicelib.store import idempotency, limits, optimistic, shared_reads, tables, typed
from chalicelib.store.models import (
    ContactKeyModel,
    ContactModel,
    CounterModel,
    EventModel,
    IdempotencyModel,
)
from chalicelib.store.privacy import erased_key

ERASED_MESSAGE = "this address was erased at the person's request: give consent to sign up again"


@dataclass(frozen=True)
class Recorded:
    contact_id: str
    event_id: str
    created: bool
    replayed: bool
    response: dict[str, Any]


class WriteConflict(Busy):
    """The contact kept changing under us for optimistic.ATTEMPTS tries."""


@dataclass
class _Attempt:
    contact_id: str
    exists: bool
    claims: list[str]


def _as_model(data: dict[str, Any]) -> ContactModel:
    return ContactModel(**{k: v for k, v in data.items() if v is not None})


class ContactStore:
    def __init__(self, shards: int, erasure_secret: bytes = b"") -> None:
        self.shards = shards
        self.erasure_secret = erasure_secret

    def count(self) -> int:
        """About how many contacts there are (DynamoDB's count, refreshed every few hours on
        AWS): the total of a progress bar."""
        return int(ContactModel.describe_table().get("ItemCount", 0))

    def find_by_email(self, address: str) -> str | None:
        """The contact with this email, normalised as capture does (InvalidValue if it is
        not an email address)."""
        return self.find_by_key("email:" + normalise.email(address))

    def all_ids(self, after: str | None = None) -> Iterator[str]:
        """Every contact's id (after `after`, in the scan's order), page by page: only for jobs
        that must visit everyone (a new segment's backfill); everything else reads one
        contact by its key."""
        start = {"id": {"S": after}} if after else None
        for item in ContactModel.scan(attributes_to_get=["id"], last_evaluated_key=start):
            yield item.id

    def scan_page(self, after: str | None, size: int) -> tuple[list[dict[str, Any]], str | None]:
        """One page of every contact in the table's order, and where the next page starts
        (None at the end): the contact list without a segment to narrow it."""
        start = {"id": {"S": after}} if after else None
        found = ContactModel.scan(limit=size, page_size=size, last_evaluated_key=start)
        items = list(found)
        last = found.last_evaluated_key
        contacts = [typed.model_values(m) for m in items if not m.merged_into]
        return contacts, (last["id"]["S"] if last and len(items) == size else None)

    def get(self, contact_id: str) -> dict[str, Any] | None:
        """The contact, or the one it was merged into: an old id (in a link, a webhook, a
        CRM) keeps working after a merge."""
        contact = self.get_own(contact_id)
        if contact is not None and contact.get("merged_into"):
            return self.get_own(contact["merged_into"])
        return contact

    def get_own(self, contact_id: str) -> dict[str, Any] | None:
        """The item itself, a merged-away contact's tombstone included."""
        if not tables.can_be_key(contact_id):
            return None
        # The client PynamoDB will use: the shared one, unless it made itself another.
        connection = ContactModel._get_connection()
        client = connection.connection.client
        table = ContactModel.Meta.table_name
        shared = shared_reads.recall(client, table, contact_id)
        if shared is not shared_reads.MISSING:
            return shared
        answer = connection.get_item(contact_id, consistent_read=True)
        item = answer.get("Item")  # read raw (store/typed.py): most handlers ask for it
        contact = typed.values(ContactModel, item) if item else None
        shared_reads.keep(client, table, contact_id, contact)
        return contact

    def get_many(self, contact_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Many contacts in BatchGetItem calls of 100 (a broadcast's page of its audience);
        ids with no contact are left out."""
        keys = [c for c in contact_ids if tables.can_be_key(c)]
        found = (typed.values(ContactModel, item) for item in typed.batch_get(ContactModel, keys))
        return {c["id"]: c for c in found if not c["merged_into"]}

    def find_by_key(self, key: str) -> str | None:
        if not tables.can_be_key(key):
            return None
        try:
            return ContactKeyModel.get(key, consistent_read=True).contact_id
        except ContactKeyModel.DoesNotExist:
            return None

    def earlier_answer(self, intake: Intake) -> Recorded | None:
        """The answer a request with this intake's idempotency key already got, if any: a
        retry is answered from it even when what it re-sends (a CAPTCHA token) is spent."""
        if not intake.idempotency_key or not tables.can_be_key(intake.idempotency_key):
            return None
        try:
            first = IdempotencyModel.get(intake.idempotency_key, consistent_read=True)
        except IdempotencyModel.DoesNotExist:
            return None
        return _replay(intake, first)

    def record(self, intake: Intake) -> Recorded:
        """Upsert the contact, claim its keys, append the event: all or nothing."""
        attempt = _Attempt(intake.identity.derived_contact_id(), False, intake.identity.keys())
        for n in range(optimistic.ATTEMPTS):
            items = self._items(intake, attempt)
            try:
                tables.transact(items)  # its reasons come back in the order of `items`
            except TransactWriteError as exc:
                replay = self._learn(intake, attempt, items, exc)
                if replay is not None:
                    return replay
                optimistic.pause(n)
                continue
            return Recorded(
                attempt.contact_id, intake.event_id, not attempt.exists, False, intake.response
            )
        raise WriteConflict(
            f"could not record {intake.event_id} after {optimistic.ATTEMPTS} attempts"
        )

    def _items(self, intake: Intake, attempt: _Attempt) -> list[tuple[str, Any, dict]]:
        cid, now = attempt.contact_id, intake.occurred_at
        items: list[tuple[str, Any, dict]] = (
            [] if attempt.exists else self._erasure_marks(intake, attempt)
        )
        for key in attempt.claims:
            claim = ContactKeyModel(key=key, contact_id=cid, created_at=now)
            cond = ContactKeyModel.key.does_not_exist() | (ContactKeyModel.contact_id == cid)
            items.append(("save", claim, {"condition": cond, "return_values": ALL_OLD}))
        if not attempt.exists:
            contact = _as_model(new_contact(cid, intake))
            cond = ContactModel.id.does_not_exist()
            items.append(("save", contact, {"condition": cond, "return_values": ALL_OLD}))
        elif intake.updates_profile:
            update = {"actions": _merge_actions(intake), "condition": ContactModel.id.exists()}
            items.append(("update", ContactModel(cid), update))
        else:
            items.append(
                (
                    "condition_check",
                    ContactModel,
                    {"hash_key": cid, "condition": ContactModel.id.exists()},
                )
            )
        event = Event(
            contact_id=cid,
            event_id=intake.event_id,
            type=intake.event_type,
            occurred_at=now,
            source=intake.source,
            properties=intake.event_properties,
            touch=intake.touch,
        )
        row = event_rows.to_model(event, self.shards)
        items.append(("save", row, {"condition": event_rows.new_item_condition()}))
        if intake.idempotency_key:
            response = {**intake.response, "contact_id": cid}
            claim = idempotency.record(intake.idempotency_key, response, intake.fingerprint, now)
            options = {"condition": idempotency.claim_condition(), "return_values": ALL_OLD}
            items.append(("save", claim, options))
        if intake.quota is not None:  # last: a retry is told by its key's item first
            counter = CounterModel(intake.quota.key)
            items.append(("update", counter, limits.count_action(intake.quota)))
        return items

    def _erasure_marks(self, intake: Intake, attempt: _Attempt) -> list[tables.Write]:
        """A new contact whose key was erased (store/privacy.py) is created only with a
        consent given in this intake, which clears the mark; without one it is refused."""
        marks = [erased_key(self.erasure_secret, key) for key in attempt.claims]
        if intake.consent:
            return [("delete", ContactKeyModel(mark), {}) for mark in marks]
        unmarked = ContactKeyModel.key.does_not_exist()
        return [
            ("condition_check", ContactKeyModel, {"hash_key": mark, "condition": unmarked})
            for mark in marks
        ]

    def _learn(
        self, intake: Intake, attempt: _Attempt, items: list, exc: TransactWriteError
    ) -> Recorded | None:
        """Read the cancellation reasons; return a replay, or adjust `attempt` for another try."""
        reasons = exc.cancellation_reasons or []
        if not reasons:
            raise exc
        for (op, model, _), reason in zip(items, reasons, strict=False):
            if (
                op == "condition_check"
                and model is ContactKeyModel
                and tables.condition_failed(reason)
            ):
                raise FormValidationError([FieldError("consent", ERASED_MESSAGE)])
        failed = [
            (model, reason)
            for (_op, model, _), reason in zip(items, reasons, strict=False)
            if reason is not None and reason.code not in ("None", "TransactionConflict")
        ]
        for model, reason in failed:  # a retry first: its event is naturally there already
            if isinstance(model, IdempotencyModel) and reason.code == "ConditionalCheckFailed":
                return _replay(intake, IdempotencyModel.from_raw_data(reason.raw_item))
        quota_full = [
            (model, reason)
            for model, reason in failed
            if isinstance(model, CounterModel) and reason.code == "ConditionalCheckFailed"
        ]
        failed = [pair for pair in failed if pair not in quota_full]
        if quota_full and not failed and intake.quota and intake.quota.refusal:
            raise intake.quota.refusal  # only the caller's quota refused: nothing stored
        owners: dict[str, str] = {}
        contact_failed = False
        for model, reason in failed:
            if reason.code != "ConditionalCheckFailed":
                raise exc
            if isinstance(model, EventModel):  # its id is derived from the client's key: a
                # retry after the key's record expired; the event is there, once
                return Recorded(attempt.contact_id, intake.event_id, False, True, intake.response)
            if isinstance(model, ContactKeyModel):
                owners[model.key] = ContactKeyModel.from_raw_data(reason.raw_item).contact_id
            else:
                contact_failed = True
        primary = attempt.claims[0] if attempt.claims else None
        if primary in owners:
            self._switch(attempt, owners[primary])
            return None
        for key, owner in owners.items():
            if key.startswith("phone:") and not contact_failed and primary != key:
                other = self.get(owner)
                if other is not None and not other.get("email"):
                    self._switch(attempt, owner, other)
                    return None
            attempt.claims.remove(key)
        if contact_failed:
            # A create found the contact there; an update found it gone (erased): flip.
            attempt.exists = not attempt.exists
        return None

    def _switch(self, attempt: _Attempt, owner: str, current: dict[str, Any] | None = None) -> None:
        """The identity already belongs to `owner`: write to that contact instead."""
        attempt.contact_id = owner
        attempt.exists = (current or self.get(owner)) is not None


def _replay(intake: Intake, first: IdempotencyModel) -> Recorded:
    """The first answer to this key, unless the key now comes with another payload."""
    stored = idempotency.first_answer(first, intake.fingerprint, intake.key_field)
    return Recorded(stored.get("contact_id", ""), stored.get("event_id", ""), False, True, stored)


def _merge_actions(intake: Intake) -> list[Any]:
    """The profile merge as independent update actions (see leads/intake.ProfileMerge)."""
    merge = profile_merge(intake)
    c = ContactModel
    actions: list[Any] = [c.version.add(1)]
    actions += [getattr(c, name).set(value) for name, value in merge.latest.items()]
    for name, value in merge.first.items():
        attribute = getattr(c, name)
        actions.append(attribute.set(attribute | value))  # if_not_exists
    actions += [c.properties[k].set(v) for k, v in merge.properties.items()]
    actions += [c.consents[topic].set(record) for topic, record in merge.consents.items()]
    if merge.visitor_id:
        actions.append(c.visitor_ids.add({merge.visitor_id}))
    if merge.submissions:
        actions.append(c.submissions.add(merge.submissions))
    return actions
