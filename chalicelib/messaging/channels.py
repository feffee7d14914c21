"""A notice for sales, as each channel wants it: the exact request, no network. Pure.

The generic webhook follows the Standard Webhooks spec (signed JSON); Slack, WeCom (企业微信),
DingTalk (钉钉) and Feishu/Lark robots each get their native message, signed the way their
documentation asks where they support signing. `accepted` reads each answer, since WeCom,
DingTalk and Feishu refuse a message with HTTP 200 and an error code in the body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, assert_never
from urllib.parse import quote_plus

from chalicelib.messaging import webhook_signature


class ChannelKind(StrEnum):
    WEBHOOK = "webhook"
    SLACK = "slack"
    WECOM = "wecom"
    DINGTALK = "dingtalk"
    FEISHU = "feishu"


KINDS = tuple(k.value for k in ChannelKind)
CHAT_JSON = "application/json; charset=utf-8"
OPEN_LEAD = "Open the lead"
ELLIPSIS = "…"
SLACK_HEADER_LIMIT = 150  # characters
SLACK_TEXT_LIMIT = 3000  # characters per section
WECOM_LIMIT = 4096  # UTF-8 bytes of markdown content
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Notice:
    """One thing to tell sales: a lead assigned, recycled, a follow-up overdue, a rule fired."""

    type: str
    title: str
    facts: tuple[tuple[str, str], ...] = ()
    reasons: tuple[str, ...] = ()
    link: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    url: str
    headers: dict[str, str]
    body: bytes


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _kind(kind: ChannelKind | str) -> ChannelKind:
    try:
        return ChannelKind(kind)
    except ValueError:
        raise ValueError(f"unknown channel {kind!r}; use one of {', '.join(KINDS)}") from None


def _millis(at: datetime) -> int:
    return (at.astimezone(UTC) - EPOCH) // timedelta(milliseconds=1)


def _clip(text: str, limit: int) -> str:
    """At most `limit` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def _clip_bytes(text: str, limit: int) -> str:
    """At most `limit` UTF-8 bytes, cut on a character boundary, marked with an ellipsis."""
    raw = text.encode()
    if len(raw) <= limit:
        return text
    room = max(0, limit - len(ELLIPSIS.encode()))
    return raw[:room].decode(errors="ignore") + ELLIPSIS


def _markdown(notice: Notice, prefix: str = "") -> str:
    lines = [f"{prefix}{label}: {value}" for label, value in notice.facts]
    if notice.reasons:
        lines += ["", *(f"- {reason}" for reason in notice.reasons)]
    return "\n".join(lines).strip("\n")


def _webhook(
    url: str, secret: str | None, notice: Notice, message_id: str, at: datetime
) -> Request:
    stamp = at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    body = _json({"type": notice.type, "timestamp": stamp, "data": notice.data})
    headers = {"Content-Type": "application/json"}
    if secret:
        headers |= webhook_signature.headers(secret, message_id, at, body.decode())
    else:
        headers |= {"webhook-id": message_id, "webhook-timestamp": str(int(at.timestamp()))}
    return Request(url, headers, body)


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_section(lines: list[str]) -> dict[str, Any]:
    text = _clip("\n".join(lines), SLACK_TEXT_LIMIT)
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _slack(notice: Notice) -> dict[str, Any]:
    title = _clip(notice.title, SLACK_HEADER_LIMIT)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title}}
    ]
    if notice.facts:
        esc = _slack_escape
        blocks.append(_slack_section([f"*{esc(k)}:* {esc(v)}" for k, v in notice.facts]))
    if notice.reasons:
        blocks.append(_slack_section([f"• {_slack_escape(r)}" for r in notice.reasons]))
    if notice.link:
        button = {"type": "button", "text": {"type": "plain_text", "text": OPEN_LEAD}}
        blocks.append({"type": "actions", "elements": [{**button, "url": notice.link}]})
    return {"text": _slack_escape(notice.title), "blocks": blocks}


def _wecom(notice: Notice) -> dict[str, Any]:
    """The link is kept whole when the content has to be cut to WeCom's limit."""
    content = f"**{notice.title}**\n{_markdown(notice, '> ')}".rstrip("\n")
    link = f"\n[{OPEN_LEAD}]({notice.link})" if notice.link else ""
    room = WECOM_LIMIT - len(link.encode())
    if room > len(ELLIPSIS.encode()):
        content = _clip_bytes(content, room) + link
    else:
        content = _clip_bytes(content + link, WECOM_LIMIT)
    return {"msgtype": "markdown", "markdown": {"content": content}}


def _dingtalk(notice: Notice) -> dict[str, Any]:
    text = f"#### {notice.title}\n\n" + _markdown(notice, "- ").replace("\n", "\n\n")
    if notice.link:
        text += f"\n\n[{OPEN_LEAD}]({notice.link})"
    return {"msgtype": "markdown", "markdown": {"title": notice.title, "text": text}}


def dingtalk_sign(secret: str, millis: int) -> str:
    """DingTalk's `sign`: HMAC-SHA256 of "timestamp\\nsecret" keyed by the secret, base64."""
    mac = hmac.new(secret.encode(), f"{millis}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def _dingtalk_url(url: str, secret: str | None, at: datetime) -> str:
    """The robot's URL, with DingTalk's `timestamp` and `sign` when the robot has a secret."""
    if not secret:
        return url
    millis = _millis(at)
    joiner = "" if url.endswith(("?", "&")) else "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={millis}&sign={quote_plus(dingtalk_sign(secret, millis))}"


def _feishu(notice: Notice) -> dict[str, Any]:
    elements: list[dict[str, Any]] = []
    if content := _markdown(notice):
        elements.append({"tag": "div", "text": {"tag": "lark_md", "content": content}})
    if notice.link:
        button = {
            "tag": "button",
            "text": {"tag": "plain_text", "content": OPEN_LEAD},
            "url": notice.link,
            "type": "primary",
        }
        elements.append({"tag": "action", "actions": [button]})
    header = {"title": {"tag": "plain_text", "content": notice.title}, "template": "red"}
    return {"msg_type": "interactive", "card": {"header": header, "elements": elements}}


def feishu_sign(secret: str, seconds: int) -> str:
    """Feishu's `sign`: HMAC-SHA256 keyed by "timestamp\\nsecret" over nothing, base64."""
    mac = hmac.new(f"{seconds}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def _feishu_signature(secret: str | None, at: datetime) -> dict[str, str]:
    """Feishu's `timestamp` and `sign` fields when the robot has a secret."""
    if not secret:
        return {}
    seconds = _millis(at) // 1000
    return {"timestamp": str(seconds), "sign": feishu_sign(secret, seconds)}


def _chat(url: str, message: dict[str, Any]) -> Request:
    return Request(url, {"Content-Type": CHAT_JSON}, _json(message))


def build(
    kind: ChannelKind | str,
    url: str,
    secret: str | None,
    notice: Notice,
    message_id: str,
    at: datetime,
) -> Request:
    """The request that tells `kind` about `notice`, signed with `secret` where it applies."""
    match _kind(kind):
        case ChannelKind.WEBHOOK:
            return _webhook(url, secret, notice, message_id, at)
        case ChannelKind.SLACK:
            return _chat(url, _slack(notice))
        case ChannelKind.WECOM:
            return _chat(url, _wecom(notice))
        case ChannelKind.DINGTALK:
            return _chat(_dingtalk_url(url, secret, at), _dingtalk(notice))
        case ChannelKind.FEISHU:
            return _chat(url, _feishu_signature(secret, at) | _feishu(notice))
        case unknown:
            assert_never(unknown)


def _snippet(body: bytes) -> str:
    return _clip(" ".join(body[:600].decode(errors="replace").split()), 200)


def _reason(head: str, detail: str) -> str:
    return f"{head}: {detail}" if detail else head


def accepted(kind: ChannelKind | str, status: int, body: bytes) -> str | None:
    """None when the channel took the message; otherwise a short reason for the attempt log."""
    channel = _kind(kind)
    if not 200 <= status < 300:
        return _reason(f"HTTP {status}", _snippet(body))
    if channel in (ChannelKind.WEBHOOK, ChannelKind.SLACK):
        return None
    try:
        answer = json.loads(body)
    except ValueError:
        return _reason(f"HTTP {status} without a JSON answer", _snippet(body))
    if not isinstance(answer, dict):
        return _reason(f"HTTP {status} with an unexpected answer", _snippet(body))
    if channel is ChannelKind.FEISHU:
        name, code = "code", answer.get("code", answer.get("StatusCode"))
        message = answer.get("msg") or answer.get("StatusMessage") or ""
    else:
        name, code = "errcode", answer.get("errcode")
        message = answer.get("errmsg") or ""
    if code == 0:
        return None
    if code is None:
        return _reason(f"HTTP {status} without an error code", _snippet(body))
    return _reason(f"{name} {code}", str(message))
