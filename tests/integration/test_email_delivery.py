"""Email delivery end to end on the embedded AWS: the send queue's consumer, SES, tracking,
unsubscribe, suppression and SES feedback, driven by the sample whitepaper journey."""

from __future__ import annotations

import base64
import itertools
import json
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from chalicelib.clock import FakeClock
from chalicelib.messaging import sns
from chalicelib.messaging.mailbox import Mailbox
from chalicelib.messaging.ratelimit import RateLimiter
from chalicelib.store.ledger import Status
from chalicelib.store.models import LedgerModel
from tests.builders import lead, post_json, track

TOPIC = "arn:aws:sns:us-east-1:123456789012:leadflow-ses-feedback"


def _contact_id(svc) -> str:
    contact_id = svc.contacts.find_by_key("email:ada@example.com")
    assert contact_id is not None
    return contact_id


def _messages(svc) -> list[EmailMessage]:
    return [svc.mailbox.read(name) for name in reversed(svc.mailbox.names())]


def _events(svc, contact_id: str, kind: str) -> list[Any]:
    timeline = svc.events.timeline(contact_id, limit=1000, newest_first=False)
    return [e for e in timeline if e.type == kind]


def _href(html: str, text: str) -> str:
    match = re.search(r'href="([^"]+)"[^>]*>[^<]*' + re.escape(text), html)
    assert match, f"no link around {text!r}"
    return match.group(1)


def test_the_thank_you_email_is_rendered_sent_and_kept_in_the_outbox(svc, ada):
    [message] = _messages(svc)
    assert message["To"] == "ada@example.com"
    assert message["From"] == "Leadflow <hello@example.com>"
    assert message["Subject"] == "Your copy of The Lead Engine Playbook 2026"
    html, text = Mailbox.part(message, "html"), Mailbox.part(message, "plain")
    assert "Your playbook is ready, Ada" in html and "Your playbook is ready, Ada" in text
    # Transactional mail (they asked for it) carries no List-Unsubscribe header.
    assert message["List-Unsubscribe"] is None
    [sent] = _events(svc, ada, "email_sent")
    assert sent.properties["step"] == "thank-you" and sent.properties["journey"] == "whitepaper"
    assert "https://leads.example.com/assets/playbook-2026.pdf" in sent.properties["links"]
    # Every tracked link points at the click route; the PDF's address is not in the HTML.
    assert "https://leads.example.com/assets/playbook-2026.pdf" not in html
    assert "https://leads.example.com/t/c/" in html and "/t/o/" in html
    entry = LedgerModel.get(sent.properties["ledger"])
    assert (
        entry.status == Status.SENT and entry.result["message_id"] == sent.properties["message_id"]
    )


def test_a_second_copy_of_the_queue_message_sends_nothing(svc, ada, journeys):
    [sent] = _events(svc, ada, "email_sent")
    assert svc.sender.deliver({"contact_id": ada, **sent.properties}) == "duplicate"
    assert len(_messages(svc)) == 1


def test_a_batch_sends_each_email_once_whatever_copies_it_holds(client, svc, journeys):
    for name in ("bob", "cy"):
        assert post_json(client, lead(email=f"{name}@example.com")).status_code == 201
    journeys.settle()
    bob, cy = svc.queues.receive("sends")
    # Bob's email twice in one batch, and Cy's, which a first batch already sent.
    assert svc.sender.deliver_many([cy.body]) == ["sent"]
    outcomes = svc.sender.deliver_many([bob.body, bob.body, cy.body])

    assert outcomes == ["sent", "duplicate", "duplicate"]
    assert sorted(str(m["To"]) for m in _messages(svc)) == ["bob@example.com", "cy@example.com"]
    for body in (bob.body, cy.body):
        assert LedgerModel.get(body["ledger"]).status == Status.SENT
        assert len(_events(svc, body["contact_id"], "email_sent")) == 1


def test_a_record_that_is_not_a_send_request_fails_alone(client, svc, journeys):
    from chalicelib.services import sender

    assert post_json(client, lead(email="bob@example.com")).status_code == 201
    journeys.settle()
    [bob] = svc.queues.receive("sends")
    records = [
        {"messageId": "1", "body": "{not json"},
        {"messageId": "2", "body": json.dumps(bob.body)},
        {"messageId": "3", "body": json.dumps({"contact_id": "ct_x"})},
    ]

    answer = sender.handle_batch(records, svc.sender)

    assert answer == {"batchItemFailures": [{"itemIdentifier": "1"}, {"itemIdentifier": "3"}]}
    assert [str(m["To"]) for m in _messages(svc)] == ["bob@example.com"]


def test_marketing_email_carries_one_click_unsubscribe_headers(svc, ada, journeys):
    journeys.later(days=3)
    assert journeys.deliver() == 1
    message = _messages(svc)[-1]
    assert message["Subject"].startswith("How Northwind cut speed-to-lead")
    targets = re.findall(r"<([^>]+)>", message["List-Unsubscribe"])
    assert targets[0].startswith("https://leads.example.com/unsubscribe/")
    assert targets[1].startswith("mailto:unsubscribe@example.com?subject=unsubscribe")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_click_redirects_to_the_link_and_moves_the_journey(client, svc, ada, journeys):
    journeys.later(days=3)
    journeys.deliver()
    html = Mailbox.part(_messages(svc)[-1], "html")
    button = re.search(r'href="(https://leads\.example\.com/t/c/[^"]+)"', html).group(1)
    answer = client.http.get(button.removeprefix("https://leads.example.com"))
    assert answer.status_code == 302
    [sent] = [e for e in _events(svc, ada, "email_sent") if e.properties["step"] == "case-study"]
    assert answer.headers["Location"] in sent.properties["links"]
    journeys.settle()
    [clicked] = _events(svc, ada, "email_clicked")
    assert clicked.properties["step"] == "case-study"
    assert clicked.properties["url"] == answer.headers["Location"]
    matched = [
        e for e in _events(svc, ada, "wait_matched") if e.properties["journey"] == "whitepaper"
    ]
    assert matched, "the click should end the wait_for on the case study"


def test_the_open_pixel_records_an_open(client, svc, ada, journeys):
    html = Mailbox.part(_messages(svc)[-1], "html")
    pixel = re.search(r'<img src="(https://leads\.example\.com/t/o/[^"]+)"', html).group(1)
    # What a mail program's image fetch asks for (API Gateway needs it to return binary).
    accept = {"Accept": "image/webp,image/apng,image/*,*/*;q=0.8"}
    answer = client.http.get(pixel.removeprefix("https://leads.example.com"), headers=accept)
    assert answer.status_code == 200, answer.body
    assert answer.headers["Content-Type"] == "image/gif"
    [opened] = _events(svc, ada, "email_opened")
    assert opened.properties["step"] == "thank-you"


def test_a_tampered_click_token_is_refused(client, svc, ada):
    html = Mailbox.part(_messages(svc)[-1], "html")
    path = _href(html, "Download the playbook").removeprefix("https://leads.example.com")
    payload, signature = path.removeprefix("/t/c/").split(".")
    raw = base64.urlsafe_b64decode(payload + "==").replace(b"\x1f0", b"\x1f1")
    forged = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    for bad in (f"/t/c/{forged}.{signature}", f"/t/c/{payload}.{signature[:-2]}xx", "/t/c/x"):
        answer = client.http.get(bad)
        assert answer.status_code == 400, bad
        assert json.loads(answer.body)["error"] == "invalid_token"
    assert _events(svc, ada, "email_clicked") == []


def test_no_redirect_to_a_url_that_was_not_in_the_email(client, svc, ada):
    [sent] = _events(svc, ada, "email_sent")
    signer = svc.sender.signer
    # Genuinely signed, but naming a link the email did not have, or an email never sent.
    beyond = signer.sign("click", ada, sent.event_id, str(len(sent.properties["links"])))
    unsent = signer.sign("click", ada, "01ARZ3NDEKTSV4RRFFQ69G5FAV", "0")
    for token in (beyond, unsent):
        answer = client.http.get(f"/t/c/{token}")
        assert answer.status_code == 400
        assert "Location" not in answer.headers


def test_one_click_unsubscribe_skips_the_next_send_and_ends_the_journey(client, svc, ada, journeys):
    journeys.later(days=3)  # the case study is queued, not yet delivered
    html = Mailbox.part(_messages(svc)[-1], "html")
    message_url = re.search(r'href="(https://leads\.example\.com/unsubscribe/[^"]+)"', html)
    path = message_url.group(1).removeprefix("https://leads.example.com")
    answer = client.http.post(
        path,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body="List-Unsubscribe=One-Click",
    )
    assert answer.status_code == 200
    assert journeys.deliver() == 1
    [skipped] = _events(svc, ada, "email_skipped")
    assert skipped.properties["step"] == "case-study"
    assert skipped.properties["reason"] == "unsubscribed"
    assert len(_messages(svc)) == 1
    journeys.settle()
    exited = {
        e.properties["journey"]: e.properties["reason"] for e in _events(svc, ada, "journey_exited")
    }
    assert set(exited) == {"whitepaper", "win-back"}  # every journey Ada was on
    assert all("unsubscribed" in reason for reason in exited.values())
    journeys.later(days=30)
    journeys.deliver()
    assert len(_messages(svc)) == 1


def test_the_preference_centre_keeps_some_topics(client, svc, ada):
    html = Mailbox.part(_messages(svc)[-1], "html")
    path = re.search(r'href="https://leads\.example\.com(/unsubscribe/[^"]+)"', html).group(1)
    page = client.http.get(path)
    assert page.status_code == 200
    assert b"a\xe2\x80\xa2" in page.body and b"@example.com" in page.body  # masked address
    assert b'value="newsletter"' in page.body
    answer = client.http.post(
        path,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body="topics=newsletter&action=save",
    )
    assert answer.status_code == 200 and b"saved" in answer.body
    consents = svc.contacts.get(ada)["consents"]
    assert consents["marketing"]["granted"] is False
    assert consents.get("newsletter", {"granted": True})["granted"] is True


def _signed_notification(notification: dict, key: rsa.RSAPrivateKey) -> dict:
    message = {
        "Type": "Notification",
        "MessageId": "5d2a7c4e-0000-4000-8000-000000000001",
        "TopicArn": TOPIC,
        "Message": json.dumps(notification),
        "Timestamp": "2026-01-05T09:00:00.000Z",
        "SignatureVersion": "2",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem",
    }
    signature = key.sign(sns.string_to_sign(message), padding.PKCS1v15(), hashes.SHA256())
    return {**message, "Signature": base64.b64encode(signature).decode()}


@pytest.fixture
def sns_key(svc) -> rsa.RSAPrivateKey:
    """A signing key and certificate standing in for SNS's (fetched from its URL in AWS)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    svc.sns = sns.Verifier((TOPIC,), fetch=lambda url: pem)
    return key


def _bounce(address: str, kind: str = "Permanent") -> dict:
    return {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": kind,
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": address, "diagnosticCode": "550 5.1.1"}],
            "timestamp": "2026-01-05T09:00:05.000Z",
        },
        "mail": {"messageId": "0100018c-test", "timestamp": "2026-01-05T09:00:00.000Z"},
    }


def _post_sns(client, message: dict):
    return client.http.post(
        "/ses/notifications",
        headers={"Content-Type": "text/plain; charset=UTF-8"},
        body=json.dumps(message),
    )


def test_a_hard_bounce_suppresses_the_address(client, svc, ada, journeys, sns_key):
    answer = _post_sns(client, _signed_notification(_bounce("Ada@Example.com"), sns_key))
    assert answer.status_code == 200
    assert svc.subscriptions.suppression("ada@example.com") == "hard_bounce"
    [bounced] = _events(svc, ada, "email_bounced")
    assert bounced.properties["suppressed"] == "hard_bounce"
    # SNS delivers at least once: the same notification again changes nothing.
    _post_sns(client, _signed_notification(_bounce("ada@example.com"), sns_key))
    assert len(_events(svc, ada, "email_bounced")) == 1
    journeys.later(days=3)
    journeys.deliver()
    [skipped] = _events(svc, ada, "email_skipped")
    assert skipped.properties["reason"] == "suppressed"
    assert len(_messages(svc)) == 1


def test_a_soft_bounce_only_records(client, svc, ada, sns_key):
    _post_sns(client, _signed_notification(_bounce("ada@example.com", "Transient"), sns_key))
    assert svc.subscriptions.suppression("ada@example.com") is None
    assert len(_events(svc, ada, "email_bounced")) == 1


def test_sns_messages_that_do_not_verify_are_refused(client, svc, ada, sns_key):
    good = _signed_notification(_bounce("ada@example.com"), sns_key)
    tampered = {**good, "Message": json.dumps(_bounce("someone@example.com"))}
    other_topic = {**good, "TopicArn": "arn:aws:sns:us-east-1:999999999999:not-ours"}
    elsewhere = {**good, "SigningCertURL": "https://evil.example.com/cert.pem"}
    for message in (tampered, other_topic, elsewhere):
        assert _post_sns(client, message).status_code == 403
    assert svc.subscriptions.suppression("someone@example.com") is None
    assert svc.subscriptions.suppression("ada@example.com") is None


def _throttle(svc, times: int) -> list[int]:
    """Make SES answer 429 TooManyRequests to the next `times` sends (then let them through)."""
    calls = [0]

    def before_send(request, **_: Any):
        calls[0] += 1
        if calls[0] > times:
            return None
        body = json.dumps({"message": "Maximum sending rate exceeded."}).encode()
        headers = {
            "x-amzn-ErrorType": "TooManyRequestsException",
            "Content-Type": "application/json",
        }

        class Raw:
            def stream(self, **_: Any):
                yield body

        return AWSResponse(request.url, 429, headers, Raw())

    svc.ses.client.meta.events.register("before-send.sesv2.SendEmail", before_send)
    return calls


def test_throttling_is_retried_with_backoff_and_the_email_goes_out_once(
    client, svc, journeys, clock: FakeClock
):
    calls = _throttle(svc, 2)
    post_json(client, lead())
    journeys.settle()
    before = clock.now()
    assert journeys.deliver() == 1
    assert calls[0] == 3
    assert len(_messages(svc)) == 1
    assert clock.now() - before >= timedelta(seconds=0.7)  # 0.2 s then 0.5 s of backoff
    assert len(_events(svc, _contact_id(svc), "email_sent")) == 1


def test_throttled_past_the_backoff_the_message_comes_back_and_sends_once(client, svc, journeys):
    calls = _throttle(svc, 6)
    post_json(client, lead())
    journeys.settle()
    [message] = svc.queues.receive("sends")
    from chalicelib.services import sender

    records = [{"messageId": "1", "body": json.dumps(message.body)}]
    assert sender.handle_batch(records, svc.sender) == {
        "batchItemFailures": [{"itemIdentifier": "1"}]
    }
    assert len(_messages(svc)) == 0
    assert LedgerModel.get(message.body["ledger"]).status == Status.RETRY
    # SQS redelivers the message; SES has recovered.
    assert sender.handle_batch(records, svc.sender) == {"batchItemFailures": []}
    assert sender.handle_batch(records, svc.sender) == {"batchItemFailures": []}
    assert calls[0] == 7
    assert len(_messages(svc)) == 1


def test_the_sender_holds_the_rate(client, svc, journeys, clock: FakeClock):
    svc.sender.limiter = RateLimiter(2, clock, lambda s: clock.advance(seconds=s))
    sent_at: list[datetime] = []
    svc.ses.client.meta.events.register(
        "before-send.sesv2.SendEmail", lambda **_: sent_at.append(clock.now())
    )
    for n in range(5):
        post_json(client, lead(email=f"reader{n}@example.com"))
    journeys.settle()
    assert journeys.deliver() == 5
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(sent_at)]
    assert len(sent_at) == 5 and min(gaps) >= 0.5 - 1e-9


def _unsubscribe_path(svc) -> str:
    html = Mailbox.part(_messages(svc)[-1], "html")
    return re.search(r'href="https://leads\.example\.com(/unsubscribe/[^"]+)"', html).group(1)


def test_one_click_also_arrives_as_multipart_and_an_empty_post_changes_nothing(client, svc, ada):
    path = _unsubscribe_path(svc)
    empty = client.http.post(
        path, headers={"Content-Type": "application/x-www-form-urlencoded"}, body=""
    )
    assert empty.status_code == 400
    assert svc.contacts.get(ada)["consents"].get("*") is None
    body = (
        '--b\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
        "One-Click\r\n--b--\r\n"
    )
    answer = client.http.post(
        path, headers={"Content-Type": "multipart/form-data; boundary=b"}, body=body
    )
    assert answer.status_code == 200
    assert svc.contacts.get(ada)["consents"]["*"]["granted"] is False


def test_the_preference_centre_names_an_unknown_topic(client, svc, ada):
    answer = client.http.post(
        _unsubscribe_path(svc),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body="topics=lottery&action=save",
    )
    assert answer.status_code == 422
    assert json.loads(answer.body)["fields"][0]["field"] == "topics"


def test_a_complaint_suppresses_and_a_delivery_is_recorded(client, svc, ada, sns_key):
    complaint = {
        "notificationType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": "ada@example.com"}],
            "complaintFeedbackType": "abuse",
            "timestamp": "2026-01-05T10:00:00.000Z",
        },
        "mail": {"messageId": "0100018c-complained"},
    }
    delivery = {
        "eventType": "Delivery",
        "delivery": {"recipients": ["ada@example.com"], "timestamp": "2026-01-05T09:00:02.000Z"},
        "mail": {"messageId": "0100018c-delivered"},
    }
    for notification in (complaint, delivery):
        assert _post_sns(client, _signed_notification(notification, sns_key)).status_code == 200
    assert svc.subscriptions.suppression("ada@example.com") == "complaint"
    [complained] = _events(svc, ada, "email_complained")
    assert complained.properties["detail"] == "abuse"
    assert len(_events(svc, ada, "email_delivered")) == 1


def test_marketing_email_without_a_topic_needs_marketing_consent(client, svc, journeys, tmp_path):
    journeys.publish(
        tmp_path / "marketing",
        trial="""
name: Trial tips
trigger: {event: trial_started}
steps:
  - id: tips
    send_email: {template: trial-tips, subject: Three tips for your trial}
  - id: receipt
    send_email: {template: trial-receipt, subject: Your trial, transactional: true}
""",
    )
    assert track(client, type="trial_started", email="lin@example.com").status_code == 202
    journeys.settle()
    assert journeys.deliver() == 2
    contact_id = svc.contacts.find_by_key("email:lin@example.com")
    [skipped] = _events(svc, contact_id, "email_skipped")
    assert (skipped.properties["step"], skipped.properties["reason"]) == ("tips", "no_consent")
    [sent] = _events(svc, contact_id, "email_sent")
    assert sent.properties["step"] == "receipt"
