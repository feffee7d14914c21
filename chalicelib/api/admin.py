"""Admin read API behind X-Api-Key: the 360-degree view of a contact."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import datetime
from typing import Any

from chalice import Response
from chalice.app import Request

from chalicelib.api import audit, http
from chalicelib.api.access import authorize
from chalicelib.api.http import jsonable, query_limit
from chalicelib.bootstrap import Services
from chalicelib.contacts.listing import ContactFilter, aware
from chalicelib.errors import FieldError, FormValidationError, NotFound
from chalicelib.leads import normalise, ownership
from chalicelib.leads.ownership import lead_of
from chalicelib.lifecycle import Stage
from chalicelib.roles import Caller

CURSOR = re.compile(r"ct_[0-9a-f]{32}")  # a list page's `next`: the last contact id it read


def visible_contact(svc: Services, caller: Caller, contact_id: str) -> dict[str, Any]:
    """The contact, if this caller may see it; otherwise the same 404 as for no contact, so a
    sales key learns nothing about other owners' leads."""
    contact = svc.contacts.get(contact_id)
    if contact is None or not caller.sees(lead_of(contact)):
        raise NotFound(f"no contact {contact_id!r}")
    return contact


def contact_view(svc: Services, caller: Caller, contact_id: str, limit: int) -> dict[str, Any]:
    contact = visible_contact(svc, caller, contact_id)
    contact_id = contact["id"]  # a merged-away id shows the survivor, all of it
    timeline = [asdict(e) for e in svc.events.timeline(contact_id, limit=limit)]
    attribution = {
        "first_touch": contact.pop("first_touch", None),
        "last_touch": contact.pop("last_touch", None),
    }
    journeys = [
        {
            "journey": e.journey_id,
            "version": e.journey_version,
            "state": e.state,
            "entered_at": e.entered_at,
            "due_at": e.due_at,
            "waiting_for": (e.waiting or {}).get("event"),
            "ended_at": e.ended_at,
            "end_reason": e.end_reason,
            "converted_at": e.converted_at,
        }
        for e in sorted(svc.enrollments.for_contact(contact_id), key=lambda e: e.entered_at)
    ]
    return jsonable(
        {
            "contact": contact,
            "attribution": attribution,
            "journeys": journeys,
            "timeline": timeline,
        }
    )


def get_contact(request: Request, contact_id: str, svc: Services) -> Response:
    caller = authorize(request, svc)
    return http.json_response(200, contact_view(svc, caller, contact_id, query_limit(request)))


def find_contacts(request: Request, svc: Services) -> Response:
    """?email= or ?phone= finds one person; anything else is the contact list, a page at a
    time, filtered by stage, owner, tag, segment, created or updated since, and text."""
    caller = authorize(request, svc)
    params = request.query_params or {}
    if "email" not in params and "phone" not in params:
        return _contact_list(request, svc, caller, params)
    try:
        if params.get("email"):
            key = "email:" + normalise.email(params["email"])
        elif params.get("phone"):
            key = "phone:" + normalise.phone(params["phone"], params.get("region", "US"))
        else:
            field = "email" if "email" in params else "phone"
            raise FormValidationError([FieldError(field, "must not be empty")])
    except normalise.InvalidValue as exc:
        field = "email" if params.get("email") else "phone"
        raise FormValidationError([FieldError(field, str(exc))]) from exc
    contact_id = svc.contacts.find_by_key(key)
    try:
        found = [contact_view(svc, caller, contact_id, query_limit(request))] if contact_id else []
    except NotFound:
        found = []
    return http.json_response(200, {"contacts": found})


LIST_PARAMS = (
    "stage",
    "lead",
    "owner",
    "tag",
    "segment",
    "created_since",
    "updated_since",
    "q",
    "limit",
    "after",
)


def _contact_list(
    request: Request, svc: Services, caller: Caller, params: dict[str, str]
) -> Response:
    unknown = sorted(set(params) - set(LIST_PARAMS) - {"email", "phone"})
    errors = [FieldError(name, "is not a filter of the contact list") for name in unknown]
    since: dict[str, datetime | None] = {}
    for name in ("created_since", "updated_since"):
        since[name] = None
        if params.get(name):
            try:
                since[name] = aware(datetime.fromisoformat(params[name]))
            except ValueError:
                errors.append(FieldError(name, "must be an ISO date or time, e.g. 2026-11-01"))
    stage = params.get("stage")
    if stage and stage not in {s.value for s in Stage}:
        errors.append(FieldError("stage", f"must be one of {', '.join(s.value for s in Stage)}"))
    lead = params.get("lead")
    if lead and lead not in ownership.STATUSES:
        errors.append(FieldError("lead", f"must be one of {', '.join(ownership.STATUSES)}"))
    if errors:
        raise FormValidationError(errors)
    wanted = ContactFilter(
        stage=stage,
        lead=lead or None,
        owner=params.get("owner") or None,
        tag=params.get("tag") or None,
        segment=params.get("segment") or None,
        created_since=since["created_since"],
        updated_since=since["updated_since"],
        search=params.get("q") or None,
    )
    after = params.get("after") or None
    if after is not None and not CURSOR.fullmatch(after):
        raise FormValidationError([FieldError("after", "is not a cursor this list gave")])
    book = svc.segments.book()
    if wanted.segment and (book is None or wanted.segment not in book.segments):
        raise FormValidationError([FieldError("segment", "is not a published segment or list")])
    page = svc.directory.page(wanted, caller, query_limit(request, 50), after)
    audit.note(request, returned=len(page.contacts))
    return http.json_response(200, jsonable({"contacts": page.contacts, "next": page.next}))
