"""Sales routes: lead actions behind an API key, the owner's signed accept page, and the
admin view and replay of webhook deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalice import Response
from chalice.app import Request

from chalicelib.api import audit, http, pages
from chalicelib.api.access import authorize
from chalicelib.api.admin import visible_contact
from chalicelib.bootstrap import Services
from chalicelib.errors import (
    FieldError,
    Forbidden,
    FormValidationError,
    LeadflowError,
    NotFound,
    UnsupportedMediaType,
)
from chalicelib.leads import ownership
from chalicelib.leads.ownership import lead_of
from chalicelib.leads.routing import Locale
from chalicelib.messaging.tokens import BadToken
from chalicelib.services import notices
from chalicelib.services.sales import LeadStateError
from chalicelib.store import tables

# What a sales action's body may say (each action reads the ones it needs; docs/routing.md).
ACTION_FIELDS = ("owner", "kind", "note", "reason", "name", "amount", "currency", "fields")
NO_STORE = {"Cache-Control": "no-store, private", "Referrer-Policy": "no-referrer"}


def act(request: Request, contact_id: str, action: str, svc: Services) -> Response:
    caller = authorize(request, svc)
    body = http.json_object(request, svc.settings.max_body_bytes) if request.raw_body else {}
    http.only(body, ACTION_FIELDS)
    done = svc.sales.act(contact_id, action, body, caller)
    audit.note(request, after={"event_id": done.event_id, "lead": done.lead})
    return http.json_response(
        200, {"contact_id": done.contact_id, "event_id": done.event_id, "lead": done.lead}
    )


def _token(token: str, svc: Services) -> tuple[str, str, bool]:
    """The lead and owner a link was signed for, and whether it is the owner's own (from
    their email: it may give the lead back) rather than the accept link a chat card carries."""
    for purpose in (ownership.OWNER_PURPOSE, ownership.ACCEPT_PURPOSE):
        try:
            contact_id, owner = svc.dispatcher.signer.verify(purpose, token)
        except (BadToken, ValueError):
            continue
        return contact_id, owner, purpose == ownership.OWNER_PURPOSE
    raise NotFound("this link is not valid")


def accept_page(token: str, svc: Services, message: str = "", status: int = 200) -> Response:
    contact_id, owner, own_link = _token(token, svc)
    contact = svc.contacts.get(contact_id)
    if contact is None:
        raise NotFound("this lead no longer exists")
    lead = lead_of(contact)
    routing = svc.leads.routing()
    locale = routing.locale(owner) if routing else Locale()
    words = ACCEPT_WORDS.get(locale.language, ACCEPT_WORDS["en"])
    if lead.get("owner") != owner:  # a link kept after the lead moved on shows nothing of it
        html = pages.render(
            "accept.html",
            page={"yours": False},
            message=message,
            failed=status >= 400,
            t=words,
            named={},
            lang=locale.language,
        )
        return http.html_response(status, html, NO_STORE)
    due = lead.get("sla_due_at")
    page = {
        "props": contact.get("properties") or {},
        "email": contact.get("email"),
        "phone": contact.get("phone"),
        "score": int(contact.get("score") or 0),
        "stage": contact.get("stage"),
        "lead": lead,
        "accept_by": locale.time(datetime.fromisoformat(due)) if due else None,
        "reasons": notices.top_reasons(contact, svc.leads.scoring()),
        "highlights": notices.highlights(
            svc.events.timeline(contact_id, limit=50), locale.timezone, locale.language
        ),
        "yours": lead.get("owner") == owner,
        "can_accept": lead.get("owner") == owner and lead.get("status") == ownership.ASSIGNED,
        "can_release": own_link
        and lead.get("owner") == owner
        and lead.get("status") in ownership.OPEN,
    }
    named = STATE_WORDS.get(locale.language, {})
    html = pages.render(
        "accept.html",
        page=page,
        message=message,
        failed=status >= 400,
        t=words,
        named=named,
        lang=locale.language,
    )
    return http.html_response(status, html, NO_STORE)


# Lead statuses and lifecycle stages as a Chinese owner reads them (English: their names).
STATE_WORDS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "new": "新",
        "assigned": "已分配",
        "accepted": "已接受",
        "pool": "公海",
        "disqualified": "不合格",
        "won": "已成交",
        "lost": "已丢单",
        "subscriber": "订阅者",
        "lead": "线索",
        "mql": "市场认可线索 (MQL)",
        "sql": "销售认可线索 (SQL)",
        "opportunity": "商机",
        "customer": "客户",
        "churned": "已流失",
    }
}

# What the accept page says, in the owner's language (routing.yaml: team or owner language).
ACCEPT_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "email": "Email",
        "phone": "Phone",
        "score": "Score",
        "owner": "Owner",
        "accept_by": "Accept by",
        "accept": "Accept the lead",
        "why": "Why it is hot",
        "did": "What they did",
        "nothing": "Nothing tracked yet.",
        "no_reasons": "No scoring reasons recorded.",
        "not_yours": "This lead is no longer yours.",
        "accepted": "Accepted: the lead is yours.",
        "nobody": "nobody",
        "no_stage": "no stage",
        "not_mine": "Not for you? Give it back",
        "reason": "Why",
        "give_back": "Give the lead back",
        "released": "Given back: the lead goes to the next owner, or to the shared pool.",
    },
    "zh-CN": {
        "email": "邮箱",
        "phone": "电话",
        "score": "评分",
        "owner": "负责人",
        "accept_by": "请在此前接受",
        "accept": "接受线索",
        "why": "为什么是热线索",
        "did": "最近的行为",
        "nothing": "暂无行为记录。",
        "no_reasons": "暂无评分原因。",
        "not_yours": "这条线索已不再属于您。",
        "accepted": "已接受：这条线索归您跟进。",
        "nobody": "无",
        "no_stage": "无阶段",
        "not_mine": "不适合您？退回线索",
        "reason": "原因",
        "give_back": "退回线索",
        "released": "已退回：线索将分配给下一位负责人，或进入公海。",
    },
}


PAGE_ACTIONS = ("accept", "release")
"""What the page's buttons do: accept the lead, or give it back with a reason."""


def accept(request: Request, token: str, svc: Services) -> Response:
    """The page's buttons, for the owner the token was signed for: refusals come back as the
    page with the reason (a browser posted the form)."""
    contact_id, owner, own_link = _token(token, svc)
    kind, _ = http.media_type(request)
    try:
        if request.raw_body and kind not in (http.FORM, http.JSON):
            # Never guess: an unread body asking to give the lead back must not accept it.
            raise UnsupportedMediaType(f"send the page's form ({http.FORM}), not {kind}")
        posted = http.form_fields(request, svc.settings.max_body_bytes) if request.raw_body else {}
        action = posted.get("action") or "accept"
        if action not in PAGE_ACTIONS:
            raise FormValidationError([FieldError("action", f"one of {', '.join(PAGE_ACTIONS)}")])
        if action == "release" and not own_link:
            raise Forbidden("only the link in the owner's own email gives the lead back")
        reason = {"reason": posted.get("reason")} if action == "release" else {}
        svc.sales.act(contact_id, action, {"owner": owner, **reason})
    except LeadflowError as exc:  # the page, with why: a browser posted the form
        return accept_page(token, svc, exc.message, exc.status)
    routing = svc.leads.routing()
    language = (routing.locale(owner) if routing else Locale()).language
    words = ACCEPT_WORDS.get(language, ACCEPT_WORDS["en"])
    return accept_page(token, svc, words["accepted" if action == "accept" else "released"])


def delivery(request: Request, svc: Services) -> Response:
    caller = authorize(request, svc)
    key = (request.query_params or {}).get("key")
    if not key:
        raise FormValidationError([FieldError("key", "give ?key= (a delivery's ledger key)")])
    entry = svc.courier.ledger.get(key)
    if entry is None:
        raise NotFound(f"no delivery {key!r}")
    if caller.scoped:
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
    authorize(request, svc)
    body = http.json_object(request, svc.settings.max_body_bytes) if request.raw_body else {}
    http.only(body, ("key",))
    if "key" not in body:
        return http.json_response(200, svc.courier.replay_dead_letters())
    key = body["key"]
    if not isinstance(key, str) or not key:
        raise FormValidationError([FieldError("key", "must be a delivery's ledger key (text)")])
    if not svc.courier.replay(key):
        raise LeadStateError(f"{key!r} is not a failed delivery")
    return http.json_response(200, {"replayed": 1, "skipped": 0})
