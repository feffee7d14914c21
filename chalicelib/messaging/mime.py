"""The message itself: a multipart/alternative MIME email with our headers, as bytes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr


@dataclass(frozen=True)
class Envelope:
    sender: str
    recipient: str
    subject: str
    reply_to: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def domain_of(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2] or "localhost"


def build(envelope: Envelope, html: str, text: str, sent_at: datetime) -> bytes:
    """RFC 5322 bytes with CRLF line ends: what SES's raw send and an .eml file take."""
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = envelope.sender
    msg["To"] = envelope.recipient
    msg["Subject"] = envelope.subject
    msg["Date"] = format_datetime(sent_at)
    msg["Message-ID"] = make_msgid(domain=domain_of(envelope.sender))
    if envelope.reply_to:
        msg["Reply-To"] = envelope.reply_to
    for name, value in envelope.headers.items():
        msg[name] = value
    msg.set_content(text, cte="quoted-printable")
    msg.add_alternative(html, subtype="html", cte="quoted-printable")
    return msg.as_bytes()
