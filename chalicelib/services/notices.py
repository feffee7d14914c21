"""What sales are told, and the deliveries that tell them (pure).

A notice (a lead assigned, recycled, a follow-up overdue, a rule fired) goes by email through
the send path and to each channel (webhook, Slack, WeCom, DingTalk, Feishu) through the
webhook queue. Each delivery is a ledger effect plus a queued event on the lead's timeline,
committed with the change that causes it, so it happens once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib import ids
from chalicelib.content.emails import NOTICE_TEMPLATE
from chalicelib.effects import Effect
from chalicelib.events import (
    EMAIL_CLICKED,
    EMAIL_QUEUED,
    FILE_DOWNLOADED,
    FORM_SUBMITTED,
    PAGE_VIEWED,
    WEBHOOK_QUEUED,
    Event,
)
from chalicelib.leads.routing import Channel
from chalicelib.leads.scoring import Scoring
from chalicelib.messaging.channels import Notice
from chalicelib.timeline import in_order

SOURCE = "sales"
HIGHLIGHTS = {
    "en": {
        FORM_SUBMITTED: "submitted {form_id}",
        PAGE_VIEWED: "viewed {url}",
        EMAIL_CLICKED: "clicked {url} in an email",
        "webinar_attended": "attended a webinar",
        "download": "downloaded {url}",
        FILE_DOWNLOADED: "downloaded {file}",
    },
    "zh-CN": {
        FORM_SUBMITTED: "提交了表单 {form_id}",
        PAGE_VIEWED: "浏览了 {url}",
        EMAIL_CLICKED: "点击了邮件中的 {url}",
        "webinar_attended": "参加了网络研讨会",
        "download": "下载了 {url}",
        FILE_DOWNLOADED: "下载了 {file}",
    },
}
MAX_HIGHLIGHTS = 5
_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
OTHER_REASONS = "other"
# The parts of a touch (leads/attribution.py) a salesperson's tools are given.
TOUCH_KEYS = (
    "source",
    "medium",
    "campaign",
    "term",
    "content",
    "channel",
    "referrer",
    "landing_page",
    "click_id",
    "form_id",
    "at",
)


def display_name(contact: Mapping[str, Any]) -> str:
    """`Ada Lovelace`; a Chinese or Japanese name family name first, unspaced (`王伟`)."""
    props = contact.get("properties") or {}
    given, family = (str(props.get(k) or "") for k in ("first_name", "last_name"))
    if _CJK.search(given + family):
        return family + given
    name = " ".join(part for part in (given, family) if part) or str(props.get("name") or "")
    return name or str(contact.get("email") or contact.get("phone") or contact.get("id"))


def top_reasons(
    contact: Mapping[str, Any], scoring: Scoring | None, limit: int = 3
) -> list[dict[str, Any]]:
    """The rules that moved the score most (either way), with their labels, and the rest as
    one `other` line: the lines add up to the score, so none of it is unexplained."""
    labels = {r.id: r.label or r.id for r in (*scoring.fit, *scoring.engagement)} if scoring else {}
    reasons = {k: int(v) for k, v in (contact.get("score_reasons") or {}).items() if int(v)}
    ranked = sorted(reasons.items(), key=lambda kv: (-abs(kv[1]), kv[0]))
    if len(ranked) == limit + 1:  # one rule more: name it rather than call it "other"
        limit += 1
    top = [{"rule": k, "label": labels.get(k, k), "points": v} for k, v in ranked[:limit]]
    rest = ranked[limit:]
    if rest:
        rules = "rule" if len(rest) == 1 else "rules"
        label = f"from {len(rest)} other {rules}"
        top.append({"rule": OTHER_REASONS, "label": label, "points": sum(v for _, v in rest)})
    return top


def highlights(timeline: Iterable[Event], timezone: str = "UTC", language: str = "en") -> list[str]:
    """The newest few things the lead did, in the reader's words and on the reader's clock."""
    zone = ZoneInfo(timezone)
    patterns = HIGHLIGHTS.get(language, HIGHLIGHTS["en"])
    out = []
    for event in in_order(timeline, newest_first=True):
        pattern = patterns.get(event.type)
        if pattern is None:
            continue
        props = {k: v for k, v in event.properties.items() if isinstance(v, str | int)}
        try:
            text = pattern.format(**props)
        except KeyError:
            text = event.type.replace("_", " ")
        local = event.occurred_at.astimezone(zone)
        out.append(f"{local:%Y-%m-%d %H:%M} {local.tzname()} {text}")
        if len(out) == MAX_HIGHLIGHTS:
            break
    return out


def touch_summary(touch: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What sales and a CRM need of a touch (attribution.py's names), or None if none."""
    if not touch:
        return None
    return {k: touch[k] for k in TOUCH_KEYS if touch.get(k) is not None} or None


def touch_text(touch: Mapping[str, Any] | None) -> str | None:
    """`google / cpc / spring-sale`: source, medium and campaign, as a person reads them."""
    parts = [str(touch[k]) for k in ("source", "medium", "campaign") if touch and touch.get(k)]
    return " / ".join(parts) or None


def attribution(contact: Mapping[str, Any]) -> dict[str, dict[str, Any] | None]:
    return {which: touch_summary(contact.get(which)) for which in ("first_touch", "last_touch")}


def lead_summary(
    contact: Mapping[str, Any],
    scoring: Scoring | None,
    timeline: Iterable[Event],
    link: str,
    timezone: str = "UTC",
    language: str = "en",
) -> dict[str, Any]:
    """Everything a salesperson needs in one look; also the generic webhook's payload."""
    props = contact.get("properties") or {}
    return {
        "id": contact.get("id"),
        "name": display_name(contact),
        "email": contact.get("email"),
        "phone": contact.get("phone"),
        "company": props.get("company"),
        "job_title": props.get("job_title"),
        "country": props.get("country"),
        "stage": contact.get("stage"),
        "score": int(contact.get("score") or 0),
        "reasons": top_reasons(contact, scoring),
        "highlights": highlights(timeline, timezone, language),
        "attribution": attribution(contact),
        "link": link,
    }


def facts(summary: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    touches = summary.get("attribution") or {}
    first, last = touch_text(touches.get("first_touch")), touch_text(touches.get("last_touch"))
    rows = [
        ("Company", summary.get("company")),
        ("Title", summary.get("job_title")),
        ("Email", summary.get("email")),
        ("Phone", summary.get("phone")),
        ("Country", summary.get("country")),
        ("Score", summary.get("score")),
        ("First touch", first),
        ("Last touch", last if last != first else None),
    ]
    return tuple((label, str(value)) for label, value in rows if value not in (None, ""))


def reason_lines(summary: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(f"{r['points']:+d} {r['label']}" for r in summary.get("reasons") or ())


def notice(kind: str, title: str, summary: Mapping[str, Any], **data: Any) -> Notice:
    return Notice(
        type=kind,
        title=title,
        facts=facts(summary),
        reasons=reason_lines(summary),
        link=summary.get("link"),
        data={"lead": dict(summary), **data},
    )


def notice_body(n: Notice) -> dict[str, Any]:
    body = asdict(n)
    body["facts"] = [list(f) for f in n.facts]
    body["reasons"] = list(n.reasons)
    return body


def notice_from(body: Mapping[str, Any]) -> Notice:
    return Notice(
        type=str(body["type"]),
        title=str(body["title"]),
        facts=tuple((str(a), str(b)) for a, b in body.get("facts") or ()),
        reasons=tuple(str(r) for r in body.get("reasons") or ()),
        link=body.get("link"),
        data=dict(body.get("data") or {}),
    )


@dataclass
class Deliveries:
    """The effects and queued events that deliver notices; merged into a Change."""

    effects: list[Effect] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


def deliver(
    out: Deliveries,
    contact_id: str,
    cause: Event,
    purpose: str,
    n: Notice,
    now: datetime,
    *,
    emails: Iterable[str] = (),
    channels: Iterable[Channel] = (),
    template: str = NOTICE_TEMPLATE,
    context: Mapping[str, Any] | None = None,
) -> None:
    """Queue `n` to each address and channel, keyed by its cause so it is queued once."""
    body = notice_body(n)
    for i, address in enumerate(dict.fromkeys(emails)):
        key = f"{contact_id}#{cause.event_id}#{purpose}#email{i}"
        payload = {
            "template": template,
            "subject": n.title,
            "to": address,
            "transactional": True,
            "internal": True,
            "context": {"notice": body, **(context or {})},
        }
        out.effects.append(Effect(key, "email", {"to": address, "template": template}))
        out.events.append(_queued(EMAIL_QUEUED, contact_id, key, cause, payload, now))
    for i, channel in enumerate(channels):
        key = f"{contact_id}#{cause.event_id}#{purpose}#{channel.kind}{i}"
        payload = {
            "channel": channel.model_dump(exclude_none=True),
            "notice": body,
            "message_id": "msg_" + ids.derived_event_id(cause.occurred_at, key),
        }
        out.effects.append(Effect(key, "webhook", payload))  # kept whole, for a replay
        out.events.append(_queued(WEBHOOK_QUEUED, contact_id, key, cause, payload, now))


def _queued(
    kind: str,
    contact_id: str,
    key: str,
    cause: Event,
    payload: dict[str, Any],
    now: datetime,
) -> Event:
    return Event(
        contact_id=contact_id,
        event_id=ids.effect_event_id(cause.event_id, cause.occurred_at, key, kind),
        type=kind,
        occurred_at=now,
        source=SOURCE,
        properties={**payload, "ledger": key},
        caused_by=cause.event_id,
    )
