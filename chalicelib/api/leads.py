"""Sales routes: lead actions behind an API key, the owner's signed accept page, and the
admin view and replay of webhook deliveries."""

from __future__ import annotations

from typing import Any

from chalice import Response
from chalice.app import Request

from chalicelib.api import http, pages
from chalicelib.api.admin import authorize, visible_contact
from chalicelib.bootstrap import Services
from chalicelib.errors import FieldError, FormValidationError, NotFound
from chalicelib.leads.dispatcher import ACCEPT_PURPOSE
from chalicelib.leads.ownership import lead_of
from chalicelib.leads.sales import LeadStateError
from chalicelib.messaging.tokens import BadToken
from chalicelib.store import tables

SALES = ("admin", "sales")
NO_STORE = {"Cache-Control": "no-store, private", "Referrer-Policy": "no-referrer"}


def act(request: Request, contact_id: str, action: str, svc: Services) -> Response:
    caller = authorize(request, svc, SALES)
    body = http.json_object(request, svc.settings.max_body_bytes) if request.raw_body else {}
    done = svc.sales.act(contact_id, action, body, caller.owner)
    return http.json_response(
        200, {"contact_id": done.contact_id, "event_id": done.event_id, "lead": done.lead}
    )


def _token(token: str, svc: Services) -> tuple[str, str]:
    try:
        contact_id, owner = svc.dispatcher.signer.verify(ACCEPT_PURPOSE, token)
    except (BadToken, ValueError) as exc:
        raise NotFound("this link is not valid") from exc
    return contact_id, owner


def accept_page(token: str, svc: Services, message: str = "", status: int = 200) -> Response:
    contact_id, owner = _token(token, svc)
    contact = svc.contacts.get(contact_id)
    if contact is None:
        raise NotFound("this lead no longer exists")
    lead = lead_of(contact)
    page = {
        "props": contact.get("properties") or {},
        "email": contact.get("email"),
        "phone": contact.get("phone"),
        "score": int(contact.get("score") or 0),
        "stage": contact.get("stage"),
        "lead": lead,
        "yours": lead.get("owner") == owner,
        "can_accept": lead.get("owner") == owner and lead.get("status") == "assigned",
    }
    html = pages.render("accept.html", page=page, message=message)
    return http.html_response(status, html, NO_STORE)


def accept(token: str, svc: Services) -> Response:
    contact_id, owner = _token(token, svc)
    try:
        svc.sales.act(contact_id, "accept", {"owner": owner})
    except LeadStateError as exc:
        return accept_page(token, svc, exc.message, 409)
    return accept_page(token, svc, "Accepted: the lead is yours. 已接受")


def delivery(request: Request, svc: Services) -> Response:
    caller = authorize(request, svc, SALES)
    key = (request.query_params or {}).get("key")
    if not key:
        raise FormValidationError([FieldError("key", "give ?key= (a delivery's ledger key)")])
    entry = svc.courier.ledger.get(key)
    if entry is None:
        raise NotFound(f"no delivery {key!r}")
    if caller.role == "sales":
        try:
            visible_contact(svc, caller, entry.contact_id or "")
        except NotFound:
            raise NotFound(f"no delivery {key!r}") from None
    body: dict[str, Any] = {
        "key": entry.key,
        "kind": entry.kind,
        "contact_id": entry.contact_id,
        "status": entry.status,
        "attempts": int(entry.attempts or 0),
        "attempt_log": [tables.plain(a) for a in entry.attempt_log or ()],
        "result": tables.plain(entry.result),
    }
    return http.json_response(200, body)


def replay(request: Request, svc: Services) -> Response:
    """Replay one dead delivery (`{"key": ...}`) or everything in the dead-letter queue."""
    authorize(request, svc, ("admin",))
    body = http.json_object(request, svc.settings.max_body_bytes) if request.raw_body else {}
    if "key" not in body:
        return http.json_response(200, svc.courier.replay_dead_letters())
    key = body["key"]
    if not isinstance(key, str) or not key:
        raise FormValidationError([FieldError("key", "must be a delivery's ledger key (text)")])
    if not svc.courier.replay(key):
        raise LeadStateError(f"{key!r} is not a failed delivery")
    return http.json_response(200, {"replayed": 1, "skipped": 0})
