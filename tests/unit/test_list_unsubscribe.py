"""List-Unsubscribe as mailbox providers read it: plain ASCII `<https://...>, <mailto:...>`,
folded only at whitespace (RFC 2369, RFC 8058), checked on the bytes MIME builds (on real sent
messages: tests/integration/test_list_unsubscribe.py)."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.messaging import mime

TARGETS = re.compile(r"^<(https://[!-~]+)>, <(mailto:[!-~]+)>$")


def _raw_header(raw: bytes, name: str) -> str:
    """The header exactly as written, folds included (the parser's decoded value hides an
    RFC 2047 encoding that mail providers would not undo)."""
    message = email.message_from_bytes(raw, policy=policy.default)
    [value] = [v for k, v in message.raw_items() if k.lower() == name.lower()]
    return value


BASE = r"https://[a-z]{1,60}(\.[a-z]{2,20}){1,3}(/[a-zA-Z0-9._~-]{0,80}){0,3}"


@given(
    base=st.from_regex(BASE, fullmatch=True),
    token=st.from_regex(r"[A-Za-z0-9_-]{20,200}\.[A-Za-z0-9_-]{22}", fullmatch=True),
    mailbox=st.sampled_from(["unsubscribe@example.com", "退订@例子.cn", "a,b@example.com"]),
)
def test_any_unsubscribe_target_comes_out_as_parsable_ascii(base, token, mailbox):
    envelope = mime.Envelope(
        sender="Leadflow <hello@example.com>",
        recipient="ada@example.com",
        subject="增长周刊 · a subject long enough to be folded by the email package, " * 2,
        unsubscribe=(f"{base}/unsubscribe/{token}", f"mailto:{mailbox}?subject=unsubscribe"),
    )
    raw = mime.build(envelope, "<p>Hi</p>", "Hi", datetime(2026, 1, 5, tzinfo=UTC))
    header = _raw_header(raw, "List-Unsubscribe")
    assert header.isascii() and "=?" not in header
    https, mailto = TARGETS.match(re.sub(r"\r\n(?=[ \t])", "", header)).groups()
    assert https == f"{base}/unsubscribe/{token}"
    assert mailto.startswith("mailto:") and "," not in mailto
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage) and parsed["Subject"].startswith("增长周刊")


def test_a_header_we_cannot_write_as_ascii_is_refused_not_encoded():
    with pytest.raises(mime.HeaderError):
        mime.fold("X-Campaign", "spring\r\nBcc: someone@example.com")
    with pytest.raises(mime.HeaderError):
        mime.fold("X-Campaign", "frühling")
