"""Outbound webhooks: Standard Webhooks signatures checked by an independent implementation,
and the SSRF guard on every URL users configure."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from chalicelib.messaging import ssrf, webhook_signature

BODY = json.dumps({"type": "lead.handoff", "data": {"email": "ada@example.com", "score": 87}})


def test_the_signature_verifies_with_the_standard_webhooks_library():
    secret = webhook_signature.new_secret()
    now = datetime.now(UTC)
    headers = webhook_signature.headers(secret, "msg_2Kq0", now, BODY)
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)
    # ... and equals the library's own signature for the same message.
    assert headers["webhook-signature"] == Webhook(secret).sign("msg_2Kq0", now, BODY)


def test_a_tampered_body_an_old_timestamp_or_another_secret_fail():
    secret = webhook_signature.new_secret()
    now = datetime.now(UTC)
    headers = webhook_signature.headers(secret, "msg_1", now, BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace("87", "99"), headers)
    old = webhook_signature.headers(secret, "msg_1", now - timedelta(minutes=10), BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, old)
    with pytest.raises(WebhookVerificationError):
        Webhook(webhook_signature.new_secret()).verify(BODY, headers)


def _resolver(table: dict[str, list[str]]):
    return lambda host, port: table[host]


@pytest.mark.parametrize(
    "url",
    [
        "https://169.254.169.254/latest/meta-data/",
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[fe80::1]/hook",
        "https://0.0.0.0/hook",
    ],
)
def test_private_loopback_and_link_local_targets_are_refused(url):
    with pytest.raises(ssrf.UnsafeUrl, match="private, loopback or link-local"):
        ssrf.check(url, resolve=lambda host, port: [host])


def test_a_public_name_that_resolves_inside_is_refused_after_resolution():
    resolve = _resolver({"hooks.example.com": ["93.184.215.14", "10.0.0.7"]})
    with pytest.raises(ssrf.UnsafeUrl, match=r"10\.0\.0\.7"):
        ssrf.check("https://hooks.example.com/x", resolve=resolve)


def test_plain_http_and_credentials_are_refused_and_public_https_passes():
    resolve = _resolver({"hooks.example.com": ["93.184.215.14"]})
    with pytest.raises(ssrf.UnsafeUrl, match="only https"):
        ssrf.check("http://hooks.example.com/x", resolve=resolve)
    with pytest.raises(ssrf.UnsafeUrl, match="credentials"):
        ssrf.check("https://user:pw@hooks.example.com/x", resolve=resolve)
    target = ssrf.check("https://hooks.example.com:8443/x", resolve=resolve)
    assert (target.port, target.addresses) == (8443, ("93.184.215.14",))


def test_local_development_may_allow_a_receiver_on_localhost():
    target = ssrf.check(
        "http://127.0.0.1:9000/hook", allow_private=True, resolve=lambda h, p: ["127.0.0.1"]
    )
    assert target.addresses == ("127.0.0.1",)
