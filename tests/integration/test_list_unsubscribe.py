"""List-Unsubscribe as mailbox providers read it: plain ASCII `<https://...>, <mailto:...>`,
folded only at whitespace (RFC 2369, RFC 8058), checked on the bytes of real sent messages."""

from __future__ import annotations

import email
import re
from email import policy

import pytest

from tests.builders import lead, post_json
from tests.unit.test_list_unsubscribe import TARGETS, _raw_header


@pytest.fixture
def marketing_mail(client, svc, journeys) -> list[bytes]:
    """Ada downloads the playbook; three days later the case study (marketing) is sent."""
    assert post_json(client, lead()).status_code == 201
    journeys.settle()
    journeys.deliver()
    journeys.later(days=3)
    assert journeys.deliver() == 1
    return [(svc.mailbox.folder / name).read_bytes() for name in svc.mailbox.names()]


def test_list_unsubscribe_is_plain_ascii_folded_only_at_whitespace(client, svc, marketing_mail):
    raw = marketing_mail[0]  # the newest: the case study
    assert email.message_from_bytes(raw, policy=policy.default)["Subject"].startswith(
        "How Northwind"
    )
    header = _raw_header(raw, "List-Unsubscribe")
    assert header.isascii() and "=?" not in header
    lines = header.split("\r\n")
    assert all(line[:1] in (" ", "\t") for line in lines[1:])  # folds start with whitespace
    assert all(len(line) <= 998 for line in lines)
    unfolded = re.sub(r"\r\n(?=[ \t])", "", header).strip()
    https, mailto = TARGETS.match(unfolded).groups()
    assert https.startswith("https://leads.example.com/unsubscribe/")
    assert mailto.startswith("mailto:unsubscribe@example.com?subject=unsubscribe%20")
    assert _raw_header(raw, "List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    # What a mail provider does with it: a one-click POST to the https target.
    answer = client.http.post(
        https.removeprefix("https://leads.example.com"),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body="List-Unsubscribe=One-Click",
    )
    assert answer.status_code == 200
    ada = svc.contacts.find_by_key("email:ada@example.com")
    assert svc.contacts.get(ada)["consents"]["*"]["granted"] is False


def test_transactional_and_internal_mail_carry_no_list_unsubscribe(marketing_mail):
    thank_you = email.message_from_bytes(marketing_mail[-1], policy=policy.default)
    assert thank_you["Subject"] == "Your copy of The Lead Engine Playbook 2026"
    assert thank_you["List-Unsubscribe"] is None and thank_you["List-Unsubscribe-Post"] is None


def test_the_outbox_raw_view_is_the_message_as_sent(client, svc, marketing_mail):
    name = svc.mailbox.names()[0]

    answer = client.http.get(f"/outbox/{name}/raw")

    assert answer.status_code == 200
    assert answer.body == marketing_mail[0]
    assert "=?" not in _raw_header(answer.body, "List-Unsubscribe")
