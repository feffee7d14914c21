"""Routes that emails link to: clicks, opens, unsubscribe, SES feedback, the local outbox."""

from __future__ import annotations

import base64
import logging

from chalice import Response
from chalice.app import Request

from chalicelib import payload
from chalicelib.api import http, pages
from chalicelib.bootstrap import Services
from chalicelib.errors import (
    FieldError,
    Forbidden,
    FormValidationError,
    LeadflowError,
    MalformedBody,
    NotFound,
)
from chalicelib.events import SUBSCRIBED, UNSUBSCRIBED
from chalicelib.messaging import machine_opens
from chalicelib.messaging.mailbox import Mailbox
from chalicelib.messaging.mime import ONE_CLICK
from chalicelib.messaging.sns import Unverified
from chalicelib.store.outage import is_outage

log = logging.getLogger(__name__)

PIXEL_ROUTE = "/t/o/{token}"
# The smallest transparent GIF: what an open pixel answers with.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store, private", "Referrer-Policy": "no-referrer"}
# An SNS message is at most 256 KiB, and its envelope escapes the JSON it carries once more.
SNS_MAX_BYTES = 2 * 256 * 1024 + 16 * 1024


def click(token: str, svc: Services) -> Response:
    url = svc.engagement.click(token)
    return Response(body="", status_code=302, headers={"Location": url, **NO_STORE})


def open_pixel(token: str, svc: Services, user_agent: str | None = None) -> Response:
    """Always the GIF: a mail program shows whatever comes back as an image, so an error body
    would only be a broken image. A bad token records nothing; a failure is logged."""
    try:
        svc.engagement.open(token.removesuffix(".gif"), machine_opens.is_machine(user_agent))
    except LeadflowError:
        pass
    except Exception as exc:
        if is_outage(exc):
            log.warning("open not recorded: the store is unavailable (%s)", type(exc).__name__)
        else:
            log.exception("open not recorded")
    return Response(body=PIXEL, status_code=200, headers={"Content-Type": "image/gif", **NO_STORE})


def preferences_page(token: str, svc: Services, message: str = "") -> Response:
    page = svc.preferences.page(token)
    return http.html_response(200, pages.render("preferences.html", page=page, message=message))


def _one_click(body: str) -> bool:
    """RFC 8058's body, sent urlencoded or as multipart/form-data."""
    if body == ONE_CLICK:
        return True
    return 'name="List-Unsubscribe"' in body and "One-Click" in body


def unsubscribe(request: Request, token: str, svc: Services) -> Response:
    """RFC 8058 one-click (mail programs POST `List-Unsubscribe=One-Click`) or the page's form."""
    body = (request.raw_body or b"").decode("utf-8", "replace").strip()
    if not body:
        raise MalformedBody(f"send {ONE_CLICK}, or the preference centre's choices")
    if _one_click(body):
        svc.preferences.unsubscribe_all(token, "one_click")
        if not http.wants_html(request):
            return http.json_response(200, {"status": UNSUBSCRIBED}, NO_STORE)
        return preferences_page(token, svc, "You are unsubscribed from all marketing email.")
    fields = http.only(
        http.form_fields(request, svc.settings.max_body_bytes),
        ("List-Unsubscribe", "action", "topics"),
    )
    action = fields.get("action", "save")
    if action not in ("save", "all"):
        raise FormValidationError([FieldError("action", "must be save or all")])
    if action == "all":
        svc.preferences.unsubscribe_all(token, "preference_centre")
        return preferences_page(token, svc, "You are unsubscribed from all marketing email.")
    chosen = fields.get("topics") or []
    keep = {str(t) for t in (chosen if isinstance(chosen, list) else [chosen])}
    svc.preferences.choose(token, keep)
    return preferences_page(token, svc, "Your choices are saved.")


def ses_notification(request: Request, svc: Services) -> Response:
    """SES bounces and complaints, delivered by SNS (which posts JSON as text/plain). The
    body is bounded and parsed like any other before the signature is checked."""
    message = http.json_object(request, SNS_MAX_BYTES)
    try:
        svc.sns.verify(message)
        if message.get("Type") == "SubscriptionConfirmation":
            svc.sns.confirm(message)
            return http.json_response(200, {"status": SUBSCRIBED})
    except Unverified as exc:
        raise Forbidden(str(exc)) from exc
    if message.get("Type") != "Notification":
        return http.json_response(200, {"status": "ignored"})
    notification = payload.loads(str(message.get("Message") or "{}"))
    if not isinstance(notification, dict):
        raise MalformedBody("the SNS message does not carry an SES notification")
    notices = svc.feedback.apply(notification)
    return http.json_response(200, {"status": "recorded", "recipients": len(notices)})


def _mailbox(svc: Services) -> Mailbox:
    if svc.mailbox is None:
        raise NotFound("the outbox exists only in the local stack")
    return svc.mailbox


def outbox(svc: Services) -> Response:
    box = _mailbox(svc)
    html = pages.render("outbox.html", messages=box.summaries(), folder=str(box.folder))
    return http.html_response(200, html)


def outbox_message(name: str, svc: Services, raw: bool = False) -> Response:
    box = _mailbox(svc)
    try:
        if raw:  # the bytes as sent: re-serialising would re-encode the headers
            body = box.raw(name).decode("utf-8", "replace")
            return Response(body=body, status_code=200, headers={"Content-Type": "message/rfc822"})
        message = box.read(name)
    except FileNotFoundError as exc:
        raise NotFound(f"no message {name}") from exc
    view = {
        "name": name,
        "subject": str(message["Subject"]),
        "sender": str(message["From"]),
        "recipient": str(message["To"]),
        "date": str(message["Date"]),
        "unsubscribe": str(message["List-Unsubscribe"] or ""),
        "html": Mailbox.part(message, "html"),
        "text": Mailbox.part(message, "plain"),
    }
    return http.html_response(200, pages.render("outbox.html", message=view))
