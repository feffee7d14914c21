"""Admin API for broadcasts: what is published and scheduled, what a run would do now, and
scheduling and cancelling one. A broadcast mails a whole segment, so only admins act."""

from __future__ import annotations

from chalice import Response
from chalice.app import Request

from chalicelib.api import audit, http
from chalicelib.api.access import authorize
from chalicelib.bootstrap import Services
from chalicelib.errors import FieldError, FormValidationError

BODY_BYTES = 4096
BROADCAST_BYTES = 32 * 1024


def save(request: Request, broadcast_id: str, svc: Services) -> Response:
    """Create or replace a broadcast from JSON (a broadcast file's fields); 200 with its
    version and whether it changed."""
    authorize(request, svc)
    body = http.json_object(request, BROADCAST_BYTES)
    saved = svc.broadcasts.save(broadcast_id, body)
    audit.note(request, after={"definition": body, **saved})
    return http.json_response(200, saved)


def list_broadcasts(request: Request, svc: Services) -> Response:
    authorize(request, svc)
    return http.json_response(200, {"broadcasts": svc.broadcasts.list()})


def status(request: Request, broadcast_id: str, svc: Services) -> Response:
    authorize(request, svc)
    return http.json_response(200, svc.broadcasts.status(broadcast_id))


def preview(request: Request, broadcast_id: str, svc: Services) -> Response:
    """Every contact of the audience decided as a run would now; nothing is written."""
    authorize(request, svc)
    at = (request.query_params or {}).get("at")
    body = svc.broadcasts.preview(broadcast_id, at).as_dict()
    return http.json_response(200, {"id": broadcast_id, **body})


def schedule(request: Request, broadcast_id: str, svc: Services) -> Response:
    """Schedule the newest published version: at its send_at, or at {"at": ...}."""
    authorize(request, svc)
    body = http.only(http.json_object(request, BODY_BYTES), ("at",)) if request.raw_body else {}
    at = body.get("at")
    if "at" in body and not isinstance(at, str):
        raise FormValidationError([FieldError("at", "an ISO 8601 time, or now")])
    done = svc.broadcasts.schedule(broadcast_id, at, "api")
    audit.note(request, after=done)
    return http.json_response(200, done)


def cancel(request: Request, broadcast_id: str, svc: Services) -> Response:
    authorize(request, svc)
    done = svc.broadcasts.cancel(broadcast_id)
    audit.note(request, after=done)
    return http.json_response(200, done)
