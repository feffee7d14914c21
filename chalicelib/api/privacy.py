"""Admin API for privacy requests (PIPL articles 44-47, GDPR articles 15, 17 and 20): record
one as received, fulfil it (an export answers the person's data; an erasure deletes it),
and list them with their deadlines. Every call is in the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalice import Response
from chalice.app import Request

from chalicelib.api import audit, http
from chalicelib.api.access import authorize
from chalicelib.bootstrap import Services
from chalicelib.errors import FieldError, FormValidationError, NotFound
from chalicelib.services.privacy import Fulfilled
from chalicelib.store.privacy import KINDS

BODY_BYTES = 32 * 1024  # a correction of a few long fields, each escaped in JSON
FIELDS = ("kind", "email", "phone", "region", "received_at", "note", "fulfil", "fields")


def _answer(status: int, svc: Services, done: Fulfilled) -> Response:
    body: dict[str, Any] = {"request": done.request.as_dict(svc.clock.now())}
    if done.data is not None:
        body["data"] = http.jsonable(done.data)
    return http.json_response(status, body)


def receive(request: Request, svc: Services) -> Response:
    """201 with the request, due in 30 days; with `"fulfil": true`, fulfilled at once."""
    caller = authorize(request, svc)
    body = http.only(http.json_object(request, BODY_BYTES), FIELDS)
    errors = [
        FieldError(name, "must be text")
        for name in ("kind", "email", "phone", "region", "received_at", "note")
        if name in body and not isinstance(body[name], str)
    ]
    if "fulfil" in body and not isinstance(body["fulfil"], bool):
        errors.append(FieldError("fulfil", "must be true or false"))
    received: datetime | None = None
    if isinstance(body.get("received_at"), str):
        try:
            received = datetime.fromisoformat(body["received_at"])
        except ValueError:
            errors.append(FieldError("received_at", "must be an ISO date, e.g. 2026-11-20"))
        if received is not None and received.tzinfo is None:
            received = received.replace(tzinfo=svc.clock.now().tzinfo)
    if isinstance(body.get("kind"), str) and body["kind"] not in KINDS:
        errors.append(FieldError("kind", f"must be one of {', '.join(KINDS)}"))
    errors += [
        FieldError(name, f"at most {most} characters")
        for name, most in (("note", 2000), ("region", 2), ("email", 320), ("phone", 40))
        if isinstance(body.get(name), str) and len(body[name]) > most
    ]
    if errors:
        raise FormValidationError(errors)
    subject = svc.privacy.subject(body.get("email"), body.get("phone"), body.get("region") or "US")
    if body.get("kind") == "correction":
        done = svc.privacy.correct(
            subject, body.get("fields"), f"api:{caller.name}", received, body.get("note")
        )
        audit.note(request, after={"request": done.request.id, **done.request.result})
        return _answer(201, svc, done)
    if "fields" in body:
        raise FormValidationError([FieldError("fields", "only a correction sets fields")])
    made = svc.privacy.receive(
        str(body.get("kind", "")), subject, f"api:{caller.name}", received, body.get("note")
    )
    audit.note(request, after={"request": made.id, "kind": made.kind, "contact": made.contact_id})
    if body.get("fulfil"):
        return _answer(201, svc, svc.privacy.fulfil(made.id))
    return _answer(201, svc, Fulfilled(made, None))


def fulfil(request: Request, request_id: str, svc: Services) -> Response:
    authorize(request, svc)
    done = svc.privacy.fulfil(request_id)
    audit.note(request, after={"status": done.request.status, "result": done.request.result})
    return _answer(200, svc, done)


def list_requests(request: Request, svc: Services) -> Response:
    """Every request with its deadline; `overdue` when still open past it."""
    authorize(request, svc)
    http.only(dict(request.query_params or {}), ())
    return http.json_response(200, {"requests": svc.privacy.all()})


def one(request: Request, request_id: str, svc: Services) -> Response:
    authorize(request, svc)
    found = svc.privacy.requests.get(request_id)
    if found is None:
        raise NotFound(f"no privacy request {request_id!r}")
    return http.json_response(200, {"request": found.as_dict(svc.clock.now())})
