"""Admin API for contact data: duplicate candidates, merging two contacts, and consent
given or withdrawn by another channel. Each touches personal data in bulk or for good, so
only keys that manage contacts may use them, and each is in the audit log."""

from __future__ import annotations

from chalice import Response
from chalice.app import Request

from chalicelib.api import audit, http
from chalicelib.api.access import authorize
from chalicelib.api.http import jsonable
from chalicelib.bootstrap import Services
from chalicelib.errors import FieldError, FormValidationError, NotFound
from chalicelib.leads.fields import name_fault
from chalicelib.store import tables

MERGE_BODY_BYTES = 4096


def duplicates(request: Request, svc: Services) -> Response:
    """Groups of contacts that may be one person, each with its reason; nothing is merged."""
    authorize(request, svc)
    unknown = sorted((request.query_params or {}).keys())
    if unknown:  # it takes none: a limit or a filter here would be silently ignored
        raise FormValidationError([FieldError(n, "is not an option here") for n in unknown])
    found = svc.duplicates.candidates()
    audit.note(request, returned=len(found))
    body = {
        "candidates": [
            {"reason": c.reason, "key": c.key, "size": c.size, "contacts": c.contacts}
            for c in found
        ]
    }
    return http.json_response(200, jsonable(body))


def merge(request: Request, svc: Services) -> Response:
    """Merge `merged` into `survivor` (contact ids); `locked` fields keep the survivor's."""
    caller = authorize(request, svc)
    body = http.only(http.json_object(request, MERGE_BODY_BYTES), ("survivor", "merged", "locked"))
    errors = [
        FieldError(name, "give a contact id")
        for name in ("survivor", "merged")
        if not isinstance(body.get(name), str) or not tables.can_be_key(body[name])
    ]
    locked = body.get("locked", [])
    if not isinstance(locked, list) or any(not isinstance(n, str) or name_fault(n) for n in locked):
        errors.append(FieldError("locked", "give a list of profile field names"))
    if errors:
        raise FormValidationError(errors)
    report = svc.merger.merge(body["survivor"], body["merged"], f"api:{caller.name}", locked)
    audit.note(request, after=report.as_dict())
    return http.json_response(200, report.as_dict())


CONSENT_BODY_BYTES = 32 * 1024  # a notice of 2,000 characters, each escaped in JSON
CONSENT_FIELDS = ("consent", "granted", "source", "version", "text")


def change_consent(request: Request, contact_id: str, svc: Services) -> Response:
    """Record a consent given or withdrawn elsewhere; 200 with the contact's consents."""
    caller = authorize(request, svc)
    body = http.only(http.json_object(request, CONSENT_BODY_BYTES), CONSENT_FIELDS)
    errors = [
        FieldError(name, "must be text")
        for name in ("consent", "source", "version", "text")
        if name in body and not isinstance(body[name], str)
    ]
    errors += [
        FieldError(name, "is required")
        for name in ("consent", "source")
        if name not in body or body[name] == ""
    ]
    if not isinstance(body.get("granted"), bool):
        errors.append(FieldError("granted", "must be true or false"))
    if errors:
        raise FormValidationError(errors)
    if not tables.can_be_key(contact_id):
        raise NotFound(f"no contact {contact_id!r}")
    before = _said((svc.contacts.get(contact_id) or {}).get("consents", {}).get(body["consent"]))
    svc.consents.change(
        contact_id,
        body["consent"],
        body["granted"],
        body["source"],
        origin=f"api:{caller.name}",
        version=body.get("version"),
        text=body.get("text"),
    )
    consents = (svc.contacts.get(contact_id) or {}).get("consents") or {}
    audit.note(request, before=before, after=_said(consents.get(body["consent"])))
    return http.json_response(200, jsonable({"contact_id": contact_id, "consents": consents}))


def _said(record: dict | None) -> dict | None:
    """What the audit log keeps of a consent record: what was said, when and by what
    channel; never the client address a form records (the log outlives an erasure)."""
    if not record:
        return None
    return {k: record[k] for k in ("granted", "at", "source", "version") if k in record}
