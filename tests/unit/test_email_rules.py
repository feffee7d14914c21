"""The pure rules behind email: validation of variables, signed tokens, link rewriting,
who may be mailed, and dates in the reader's language."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.content import catalog
from chalicelib.messaging import eligibility, links
from chalicelib.messaging.compiler import CompiledEmail
from chalicelib.messaging.renderer import Renderer
from chalicelib.messaging.tokens import BadToken, Signer
from tests.builders import ROOT


def _content(tmp_path: Path, template_body: str, subject: str = "Hello") -> catalog.Catalog:
    shutil.copytree(ROOT / "marketing", tmp_path / "marketing")
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    (tmp_path / "templates" / "playbook-thank-you.mjml").write_text(
        '[% extends "layouts/base.mjml" %]\n[% block body %]<mj-section><mj-column>\n'
        f"<mj-text>{template_body}</mj-text>\n</mj-column></mj-section>[% endblock %]\n"
    )
    journey = tmp_path / "marketing" / "journeys" / "whitepaper.yaml"
    journey.write_text(
        journey.read_text().replace(
            "subject: Your copy of The Lead Engine Playbook 2026", f"subject: {subject!r}"
        )
    )
    return catalog.load(tmp_path / "marketing")


def test_the_samples_validate(tmp_path):
    content = catalog.load(ROOT / "marketing")
    assert content.problems == []
    assert set(content.emails.templates) >= {"playbook-thank-you", "newsletter-welcome-zh"}


def test_an_unknown_variable_fails_validate_with_file_line_and_name(tmp_path):
    content = _content(tmp_path, "Hi {{ contact.frist_name | default('there') }}")
    [problem] = content.problems
    assert problem.path == "templates/playbook-thank-you.mjml"
    assert problem.line == 3
    assert problem.field == "contact.frist_name"
    assert "no contact field or send context provides" in problem.message


def test_a_variable_outside_the_send_context_fails_too(tmp_path):
    [problem] = _content(tmp_path, "Your code: {{ coupon }}").problems
    assert problem.field == "coupon"


def test_form_fields_are_known_contact_fields(tmp_path):
    assert (
        _content(tmp_path, "{{ contact.job_title | default('') }} {{ contact.asset }}").problems
        == []
    )


def test_a_subject_with_an_unknown_variable_fails_at_the_journey(tmp_path):
    [problem] = _content(tmp_path, "Hi", subject="Hi {{ contact.nickname }}").problems
    assert problem.path == "marketing/journeys/whitepaper.yaml"
    assert problem.field == "steps[0].send_email.subject"
    assert "contact.nickname" in problem.message


def test_a_missing_template_and_an_undeclared_topic_fail_at_the_journey(tmp_path):
    shutil.copytree(ROOT / "marketing", tmp_path / "marketing")
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    (tmp_path / "templates" / "demo-offer.mjml").unlink()
    journey = tmp_path / "marketing" / "journeys" / "birthday.yaml"
    journey.write_text(journey.read_text().replace("topic: marketing", "topic: promotions"))
    found = {(p.path, p.field): p.message for p in catalog.load(tmp_path / "marketing").problems}
    assert (
        "there is no template"
        in found[("marketing/journeys/whitepaper.yaml", "steps[4].send_email.template")]
    )
    assert "brand.yaml" in found[("marketing/journeys/birthday.yaml", "steps[1].send_email.topic")]


SIGNER = Signer("unit-test-secret-0123456789")


@given(
    st.lists(
        st.text(
            alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x1f"),
            max_size=30,
        ),
        min_size=1,
        max_size=4,
    )
)
def test_tokens_round_trip(fields):
    assert SIGNER.verify("click", SIGNER.sign("click", *fields)) == fields


def test_a_token_is_bound_to_its_purpose_its_secret_and_its_content():
    token = SIGNER.sign("click", "ct_1", "01ABC", "0")
    with pytest.raises(BadToken):
        SIGNER.verify("unsubscribe", token)
    with pytest.raises(BadToken):
        Signer("another-secret-0123456789").verify("click", token)
    payload, signature = token.split(".")
    for bad in (payload[:-1] + "A." + signature, payload + "." + signature[::-1], "", "x.y", "."):
        with pytest.raises(BadToken):
            SIGNER.verify("click", bad)


def test_links_are_tracked_once_per_url_and_the_rest_left_alone():
    html = links.instrument(
        '<html><body><a href="https://a.example/x?y=1&amp;z=2">A</a>'
        "<A class=\"b\" HREF='https://a.example/x?y=1&z=2'>again</A>"
        '<a href="mailto:hi@example.com">mail</a><a href="{{ unsubscribe_url }}">u</a>'
        '<a href="http://b.example/{{ contact.id }}">B</a></body></html>'
    )
    email = CompiledEmail("t", html, "")
    tracker = links.Tracker(
        lambda i: f"https://t/{i}",
        "https://t/open.gif",
        ("https://leads.example.com/unsubscribe/",),
    )
    context = {
        "contact": {"id": "ct_1"},
        "unsubscribe_url": "https://leads.example.com/unsubscribe/tok",
        links.TRACKER: tracker,
    }
    out = Renderer().render(email, context).html
    assert tracker.links == ["https://a.example/x?y=1&z=2", "http://b.example/ct_1"]
    assert out.count('"https://t/0"') + out.count("'https://t/0'") == 2
    assert 'href="https://t/1"' in out and 'href="mailto:hi@example.com"' in out
    assert 'href="https://leads.example.com/unsubscribe/tok"' in out
    assert out.endswith(
        '<img src="https://t/open.gif" width="1" height="1" alt="" '
        'style="display:block;border:0;width:1px;height:1px;" /></body></html>'
    )
    # Without a tracker (a preview), the links stay as written and there is no pixel.
    preview = Renderer().render(email, {k: v for k, v in context.items() if k != links.TRACKER})
    assert 'href="https://a.example/x?y=1&amp;z=2"' in preview.html and "<img" not in preview.html


CONSENT_TOPICS = frozenset({"marketing", "newsletter"})


def _check(contact, topic="marketing", transactional=False, suppression=None):
    return eligibility.check(
        contact,
        topic=topic,
        transactional=transactional,
        suppression=suppression,
        consent_topics=CONSENT_TOPICS,
    )


def _record(granted, at):
    return {"granted": granted, "at": f"2026-01-0{at}T09:00:00+00:00"}


def test_who_may_be_mailed():
    ok = {"email": "ada@example.com", "consents": {"marketing": _record(True, 1)}}
    assert _check(ok) is None
    assert _check({**ok, "email": "not-an-address"}).reason == "invalid_address"
    assert _check({**ok, "email": None}).reason == "invalid_address"
    assert _check(ok, suppression="hard_bounce").reason == "suppressed"
    assert _check(ok, transactional=True, suppression="complaint").reason == "suppressed"
    assert _check({"email": "ada@example.com"}).reason == "no_consent"
    assert _check({"email": "ada@example.com"}, topic="product-tips") is None
    everything_off = {**ok, "consents": {**ok["consents"], "*": _record(False, 2)}}
    assert _check(everything_off).detail == "unsubscribed from all marketing email"
    assert _check(everything_off, transactional=True) is None
    # A later consent on a form for one topic brings that topic back, and only that one.
    back = {
        **everything_off,
        "consents": {**everything_off["consents"], "newsletter": _record(True, 3)},
    }
    assert _check(back, topic="newsletter") is None
    assert _check(back, topic="marketing").reason == "unsubscribed"


def test_dates_in_the_readers_language_and_zone():
    email = CompiledEmail(
        "t", "{{ '2026-12-10T16:00:00Z' | datetime }} / {{ '2026-03-14' | date }}", ""
    )
    zh = {"contact": {"locale": "zh-CN", "timezone": "Asia/Shanghai"}}
    de = {"contact": {"locale": "de_DE", "timezone": "Europe/Berlin"}}
    nobody = {"contact": {"locale": "xx-bogus", "timezone": "Mars/Base"}}
    assert Renderer().render(email, zh).html.startswith("2026年12月11日 00:00:00")
    assert "14. März 2026" in Renderer().render(email, de).html
    assert Renderer().render(email, nobody).html.startswith("Dec 10, 2026, 4:00:00")
