"""Privacy requests and the marks an erasure leaves.

A request is recorded when it is received, due 30 days later (PIPL article 50, GDPR article
12(3)), and closed when it is done. An erasure leaves, for each key of the person (email,
phone), a contact-key item named by a keyed hash of that key: the forms check it before they
create a contact, so a person who was erased is not created again by a later form post
without giving consent again (and an import skips them unless the file grants consent).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError

from chalicelib.store import tables
from chalicelib.store.models import ContactKeyModel, PrivacyRequestModel

DEADLINE = timedelta(days=30)
KINDS = ("export", "erasure", "correction")
ERASED = "erased:"


def keyed(secret: bytes, key: str) -> str:
    """A person's key (email:..., phone:...) as a keyed hash: names them without saying who."""
    return hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()[:40]


def erased_key(secret: bytes, key: str) -> str:
    """The contact-key item that marks `key` as erased."""
    return ERASED + keyed(secret, key)


@dataclass(frozen=True)
class Request:
    id: str
    kind: str
    status: str
    subject: str
    contact_id: str | None
    received_at: datetime
    due_at: datetime
    done_at: datetime | None
    by: str
    note: str | None
    result: dict[str, Any] | None

    def as_dict(self, now: datetime) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "contact_id": self.contact_id,
            "received_at": self.received_at.isoformat(),
            "due_at": self.due_at.isoformat(),
            "done_at": self.done_at.isoformat() if self.done_at else None,
            "overdue": self.status == "open" and now > self.due_at,
            "by": self.by,
            "note": self.note,
            "result": self.result,
        }


def _request(item: PrivacyRequestModel) -> Request:
    return Request(
        item.id,
        item.kind,
        item.status,
        item.subject,
        item.contact_id,
        item.received_at,
        item.due_at,
        item.done_at,
        item.by,
        item.note,
        tables.plain(item.result),
    )


class PrivacyRequests:
    def __init__(self, secret: bytes) -> None:
        self.secret = secret

    def _pepper(self) -> bytes:
        """The key of every hash written here; none is refused, since a hash keyed by nothing
        would be matched by no later check and the person would come back unnoticed."""
        if not self.secret:
            raise RuntimeError(
                "LEADFLOW_PEPPER is not set: a privacy request cannot name the person safely"
                " (docs/deployment.md#secrets)"
            )
        return self.secret

    def open(
        self,
        kind: str,
        key: str,
        contact_id: str | None,
        received_at: datetime,
        by: str,
        note: str | None,
        request_id: str | None = None,
    ) -> Request:
        """Record a request; with `request_id` (derived from its cause), opening it again
        answers the one already recorded."""
        item = PrivacyRequestModel(
            id=request_id or "pr_" + secrets.token_hex(8),
            kind=kind,
            status="open",
            subject=keyed(self._pepper(), key),
            contact_id=contact_id,
            received_at=received_at,
            due_at=received_at + DEADLINE,
            by=by,
            note=note,
        )
        try:
            item.save(condition=PrivacyRequestModel.id.does_not_exist())
        except PutError:
            found = self.get(item.id) if request_id else None
            if found is None:
                raise
            return found
        return _request(item)

    def get(self, request_id: str) -> Request | None:
        if not tables.can_be_key(request_id):
            return None
        try:
            return _request(PrivacyRequestModel.get(request_id, consistent_read=True))
        except PrivacyRequestModel.DoesNotExist:
            return None

    def close(self, request_id: str, done_at: datetime, result: dict[str, Any]) -> Request:
        item = PrivacyRequestModel(request_id)
        item.update(
            actions=[
                PrivacyRequestModel.status.set("done"),
                PrivacyRequestModel.done_at.set(done_at),
                PrivacyRequestModel.result.set(result),
            ],
            condition=PrivacyRequestModel.id.exists(),
        )
        return _request(item)

    def all(self) -> list[Request]:
        """Every request, oldest first (a few a month: read whole)."""
        return sorted(
            (_request(i) for i in PrivacyRequestModel.scan()), key=lambda r: r.received_at
        )

    def mark_erased(self, keys: list[str], request_id: str, now: datetime) -> None:
        with ContactKeyModel.batch_write() as writer:
            for key in keys:
                writer.save(
                    ContactKeyModel(
                        key=erased_key(self._pepper(), key),
                        contact_id=request_id,
                        created_at=now,
                    )
                )

    def erased(self, keys: list[str]) -> set[str]:
        """Which of these keys belong to someone who was erased."""
        marks = self.marks(keys)
        return {marks[item.key] for item in ContactKeyModel.batch_get(list(marks))}

    def marks(self, keys: list[str]) -> dict[str, str]:
        """The contact-key item that would mark each key erased -> the key: a caller that
        reads contact keys anyway (the importer) reads the marks in the same request."""
        return {erased_key(self.secret, k): k for k in keys}
