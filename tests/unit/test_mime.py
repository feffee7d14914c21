"""The message MIME builds, read back by the email package as a mail program would: every
header and both parts say what was given, in any script, with CRLF line ends and short lines."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email import policy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.messaging import mime

TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\n \t="), max_size=300
)
NAME = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=40)


@given(
    subject=st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1),
    name=NAME,
    text=TEXT,
    html=TEXT,
)
def test_any_subject_sender_and_body_read_back_as_given(subject, name, text, html):
    sender = email.utils.formataddr((name, "hello@example.com"), charset="utf-8")
    envelope = mime.Envelope(sender=sender, recipient="ada@example.com", subject=subject)
    raw = mime.build(envelope, html, text, datetime(2026, 1, 5, tzinfo=UTC))
    message = email.message_from_bytes(raw, policy=policy.default)

    assert b"\n" not in raw.replace(b"\r\n", b"") and max(map(len, raw.split(b"\r\n"))) <= 998
    assert " ".join(str(message["Subject"]).split()) == " ".join(subject.split())
    assert message["From"].addresses[0].addr_spec == "hello@example.com"
    shown = message["From"].addresses[0].display_name
    assert " ".join(shown.split()) == " ".join(name.split())
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    marked = message.get_body(("html",)).get_content().replace("\r\n", "\n")
    assert (plain, marked) == (text, html)


def test_a_display_name_that_needs_quotes_gets_them():
    envelope = mime.Envelope(
        sender='"Leadflow, Inc." <hello@example.com>',
        recipient="ada@example.com",
        subject="Hi",
        reply_to="Sales (EMEA) <sales@example.com>",
    )
    raw = mime.build(envelope, "<p>hi</p>", "hi", datetime(2026, 1, 5, tzinfo=UTC))
    message = email.message_from_bytes(raw, policy=policy.default)

    assert message["From"].addresses[0].display_name == "Leadflow, Inc."
    assert message["Reply-To"].addresses[0].addr_spec == "sales@example.com"
    assert not message.defects


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sender", "Leadflow\r\nBcc: everyone@example.com <hello@example.com>"),
        ("recipient", "ada@example.com\nX-Injected: 1"),
        ("reply_to", "Sales\u2028Team <s@example.com>"),
    ],
)
def test_a_header_that_would_break_the_line_is_refused(field, value):
    fields = {"sender": "hello@example.com", "recipient": "ada@example.com", "subject": "Hi"}
    envelope = mime.Envelope(**{**fields, field: value})
    with pytest.raises(mime.HeaderError):
        mime.build(envelope, "<p>hi</p>", "hi", datetime(2026, 1, 5, tzinfo=UTC))


def test_a_lone_carriage_return_in_a_body_becomes_a_line_break():
    envelope = mime.Envelope(sender="hello@example.com", recipient="ada@example.com", subject="Hi")
    raw = mime.build(envelope, "<p>a\rb</p>", "a\rb", datetime(2026, 1, 5, tzinfo=UTC))
    assert b"\r" not in raw.replace(b"\r\n", b"")
