"""Admin API for segments: what exists and how big, who is in one, and why a contact is in
or out; lists changed by hand. Member lists are personal data in bulk, so only admin keys
read or change them."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from chalice import Response
from chalice.app import Request

from chalicelib import ids
from chalicelib.api import audit, http
from chalicelib.api.access import authorize
from chalicelib.api.http import query_limit
from chalicelib.bootstrap import Services
from chalicelib.errors import FieldError, FormValidationError, LeadflowError, NotFound
from chalicelib.leads import normalise
from chalicelib.segments.language import Segment

LIST_BODY_BYTES = 4096
CURSOR = re.compile(r"ct_[0-9a-f]{32}")  # a page's `next`: the last contact id it listed


def _segment(svc: Services, segment_id: str) -> Segment:
    book = svc.segments.book()
    segment = book.segments.get(segment_id) if book else None
    if segment is None:
        raise NotFound(f"no segment {segment_id!r}")
    return segment


def _summary(
    svc: Services, segment: Segment, computed: dict[str, datetime] | None = None
) -> dict[str, Any]:
    """What a segment is and how big; `last_computed_at`: when its version was last computed
    for every contact (its backfill), kept current event by event since."""
    if computed is None:
        computed = svc.segmenter.backfills.computed_at([segment.id])
    at = computed.get(segment.id)
    return {
        "id": segment.id,
        "name": segment.name,
        "description": segment.description,
        "kind": "list" if segment.static else "dynamic",
        "size": svc.members.size(segment.id),
        "last_computed_at": at.isoformat() if at else None,
    }


def list_segments(request: Request, svc: Services) -> Response:
    authorize(request, svc)
    book = svc.segments.book()
    found = list(book.segments.values()) if book else []
    computed = svc.segmenter.backfills.computed_at([s.id for s in found])
    segments = [_summary(svc, s, computed) for s in found]
    return http.json_response(200, {"segments": sorted(segments, key=lambda s: s["id"])})


def members(request: Request, segment_id: str, svc: Services) -> Response:
    authorize(request, svc)
    segment = _segment(svc, segment_id)
    params = request.query_params or {}
    limit = query_limit(request, 50)
    after = params.get("after")
    if after is not None and not CURSOR.fullmatch(after):
        raise FormValidationError([FieldError("after", "the `next` cursor of a previous page")])
    page, cursor = svc.members.page(segment.id, limit, after)
    contacts = [(m, svc.contacts.get(m.contact_id) or {}) for m in page]
    audit.note(request, returned=len(contacts))
    return http.json_response(
        200,
        {
            **_summary(svc, segment),
            "members": [
                {
                    "contact_id": m.contact_id,
                    "email": contact.get("email"),
                    "entered_at": m.entered_at.isoformat(),
                }
                for m, contact in contacts
            ],
            "next": cursor,
        },
    )


class DynamicSegment(LeadflowError):
    """Only lists change by hand; a dynamic segment's condition decides who is in it."""

    status = 409
    code = "conflict"


def _list(svc: Services, segment_id: str) -> Segment:
    segment = _segment(svc, segment_id)
    if not segment.static:
        raise DynamicSegment(f"{segment_id} is a dynamic segment: its condition decides")
    return segment


def add_member(request: Request, segment_id: str, svc: Services) -> Response:
    """Put a contact (by email or contact_id) on a list: 201 if added, 200 if it was on it."""
    authorize(request, svc)
    segment = _list(svc, segment_id)
    body = http.only(http.json_object(request, LIST_BODY_BYTES), ("email", "contact_id"))
    contact_id = _contact_of(svc, body)
    added = svc.segmenter.change_list(segment, contact_id, True, "api", _cause(svc))
    return http.json_response(
        201 if added else 200, {"segment": segment.id, "contact_id": contact_id, "added": added}
    )


def remove_member(request: Request, segment_id: str, contact_id: str, svc: Services) -> Response:
    authorize(request, svc)
    segment = _list(svc, segment_id)
    if svc.contacts.get(contact_id) is None:
        raise NotFound(f"no contact {contact_id!r}")
    removed = svc.segmenter.change_list(segment, contact_id, False, "api", _cause(svc))
    return http.json_response(
        200, {"segment": segment.id, "contact_id": contact_id, "removed": removed}
    )


def _contact_of(svc: Services, body: dict[str, Any]) -> str:
    if isinstance(body.get("contact_id"), str) and body["contact_id"]:
        if svc.contacts.get(body["contact_id"]) is None:
            raise NotFound(f"no contact {body['contact_id']!r}")
        return body["contact_id"]
    if not isinstance(body.get("email"), str):
        raise FormValidationError([FieldError("email", "give email or contact_id")])
    try:
        found = svc.contacts.find_by_email(body["email"])
    except normalise.InvalidValue as exc:
        raise FormValidationError([FieldError("email", str(exc))]) from exc
    if found is None:
        raise NotFound("no contact with that email")
    return found


def _cause(svc: Services) -> str:
    return ids.event_id(svc.clock.now())


def explain(request: Request, segment_id: str, svc: Services) -> Response:
    authorize(request, svc)
    segment = _segment(svc, segment_id)
    params = request.query_params or {}
    contact_id = params.get("contact_id")
    if not contact_id:
        if not params.get("email"):
            raise FormValidationError([FieldError("email", "give ?email= or ?contact_id=")])
        try:
            contact_id = svc.contacts.find_by_email(params["email"])
        except normalise.InvalidValue as exc:
            raise FormValidationError([FieldError("email", str(exc))]) from exc
    contact = svc.contacts.get(contact_id) if contact_id else None
    if contact is None:
        raise NotFound("no such contact")
    why = svc.segmenter.explain(segment, contact, svc.clock.now())
    return http.json_response(
        200,
        {
            "segment": segment.id,
            "contact_id": contact["id"],
            "inside": why.inside,
            "holds": why.holds,
            "reason": why.reason,
        },
    )
