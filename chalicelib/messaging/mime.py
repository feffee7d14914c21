"""The message itself: a multipart/alternative MIME email with our headers, as bytes.

Our own structured headers (List-Unsubscribe and the like) are written as plain ASCII and
folded only at whitespace: a long value left to the email package comes out as RFC 2047
encoded words, which mail providers do not parse, so they would hide their unsubscribe button.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from urllib.parse import quote

LINE = 78  # RFC 5322's recommended line length; folding never cuts a word to reach it
MAX_LINE = 998  # RFC 5322's hard limit
ONE_CLICK = "List-Unsubscribe=One-Click"
# Characters a URL keeps as they are inside <...> of List-Unsubscribe (RFC 2369): printable
# ASCII but the space, the angle brackets and the comma that separates the URLs (a `%`
# stays: it starts an escape already made).
_URL_SAFE = "".join(chr(c) for c in range(33, 127) if chr(c) not in "<>,")
# Headers set with set_raw are written as given; the rest fold as usual.
_POLICY = policy.SMTP.clone(refold_source="none")


@dataclass(frozen=True)
class Envelope:
    sender: str
    recipient: str
    subject: str
    reply_to: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # The List-Unsubscribe targets (an https URL, then a mailto:), for marketing email.
    unsubscribe: tuple[str, ...] = ()


def domain_of(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2] or "localhost"


class HeaderError(ValueError):
    """A header value we made that cannot be written as plain ASCII."""


def fold(name: str, value: str) -> str:
    """`value` as plain ASCII, folded only at whitespace so that lines stay near LINE."""
    if not (value.isascii() and value.isprintable()):
        raise HeaderError(f"{name} must be one line of printable ASCII: {value!r}")
    words = value.split() or [""]
    lines = [words[0]]
    width = len(name) + 2 + len(words[0])  # "Name: " and the first word
    for word in words[1:]:
        if width + 1 + len(word) > LINE:
            lines.append(word)
            width = 1 + len(word)
        else:
            lines[-1] += f" {word}"
            width += 1 + len(word)
    if len(name) + 2 + max(len(line) for line in lines) > MAX_LINE:
        raise HeaderError(f"{name} has a word longer than a line may be")
    return "\n ".join(lines)


def url_list(urls: Iterable[str]) -> str:
    """RFC 2369's `<url>, <url>`, each URL percent-encoded where it is not plain ASCII."""
    return ", ".join(f"<{quote(url, safe=_URL_SAFE)}>" for url in urls)


def build(envelope: Envelope, html: str, text: str, sent_at: datetime) -> bytes:
    """RFC 5322 bytes with CRLF line ends: what SES's raw send and an .eml file take."""
    msg = EmailMessage(policy=_POLICY)
    msg["From"] = envelope.sender
    msg["To"] = envelope.recipient
    msg["Subject"] = envelope.subject
    msg["Date"] = format_datetime(sent_at)
    msg["Message-ID"] = make_msgid(domain=domain_of(envelope.sender))
    if envelope.reply_to:
        msg["Reply-To"] = envelope.reply_to
    headers = dict(envelope.headers)
    if envelope.unsubscribe:
        # RFC 8058: the https target takes a one-click POST; mail providers show a button.
        headers["List-Unsubscribe"] = url_list(envelope.unsubscribe)
        headers["List-Unsubscribe-Post"] = ONE_CLICK
    for name, value in headers.items():
        msg.set_raw(name, fold(name, value))
    msg.set_content(text, cte="quoted-printable")
    msg.add_alternative(html, subtype="html", cte="quoted-printable")
    return msg.as_bytes()
