"""The message itself: a multipart/alternative MIME email with our headers, as bytes.

Our own structured headers (List-Unsubscribe and the like) are written as plain ASCII and
folded only at whitespace: a long value left to the email package comes out as RFC 2047
encoded words, which mail providers do not parse, so they would hide their unsubscribe button.
"""

from __future__ import annotations

import binascii
import contextlib
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.utils import format_datetime, formataddr, getaddresses, make_msgid, parseaddr
from urllib.parse import quote

LINE = 78  # RFC 5322's recommended line length; folding never cuts a word to reach it
MAX_LINE = 998  # RFC 5322's hard limit
ONE_CLICK = "List-Unsubscribe=One-Click"
# Characters a URL keeps as they are inside <...> of List-Unsubscribe (RFC 2369): printable
# ASCII but the space, the angle brackets and the comma that separates the URLs (a `%`
# stays: it starts an escape already made).
_URL_SAFE = "".join(chr(c) for c in range(33, 127) if chr(c) not in "<>,")
# Headers that are not plain ASCII are folded and encoded by the email package.
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
    """RFC 5322 bytes with CRLF line ends: what SES's raw send and an .eml file take.

    Written directly rather than through `EmailMessage`, whose header objects and generator
    cost a millisecond a message (most of what sending one cost us); the email package still
    writes any header that is not plain ASCII, as RFC 2047 encoded words.
    """
    boundary = f"=_lf_{secrets.token_hex(16)}"
    lines = [
        _structured("From", envelope.sender),
        _structured("To", envelope.recipient),
        _structured("Subject", envelope.subject),
        f"Date: {format_datetime(sent_at)}",
        f"Message-ID: {make_msgid(domain=domain_of(envelope.sender))}",
    ]
    if envelope.reply_to:
        lines.append(_structured("Reply-To", envelope.reply_to))
    headers = dict(envelope.headers)
    if envelope.unsubscribe:
        # RFC 8058: the https target takes a one-click POST; mail providers show a button.
        headers["List-Unsubscribe"] = url_list(envelope.unsubscribe)
        headers["List-Unsubscribe-Post"] = ONE_CLICK
    lines += [_line(name, value) for name, value in headers.items()]
    lines += [
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
        "",
        *_part(boundary, "plain", text),
        *_part(boundary, "html", html),
        f"--{boundary}--",
        "",
    ]
    return "\r\n".join(lines).encode("ascii")


def _line(name: str, value: str) -> str:
    return f"{name}: " + fold(name, value).replace("\n ", "\r\n ")


def _structured(name: str, value: str) -> str:
    """An address or subject header line: plain ASCII as it is (a display name quoted when it
    needs to be), anything else folded and encoded by the email package. A line break or
    other control character would end the header early (and let a value write headers of
    its own), so it is refused."""
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in value):
        raise HeaderError(f"{name} holds a line break or control character: {value!r}")
    if value.isascii() and value.isprintable():
        if name == "Subject":
            with contextlib.suppress(HeaderError):
                return _line(name, value)
        else:
            found = getaddresses([value])
            if len(found) == 1 and "@" in found[0][1]:
                return f"{name}: {formataddr(found[0])}"
    return _POLICY.fold(name, _POLICY.header_factory(name, value)).rstrip("\r\n")


def _part(boundary: str, subtype: str, content: str) -> list[str]:
    """One text part, quoted-printable by the C encoder."""
    plain = content.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    encoded = binascii.b2a_qp(plain, istext=True).decode("ascii")
    return [
        f"--{boundary}",
        f'Content-Type: text/{subtype}; charset="utf-8"',
        "Content-Transfer-Encoding: quoted-printable",
        "",
        encoded.replace("\n", "\r\n"),
    ]
