"""Outbound webhooks: Standard Webhooks signatures checked by an independent implementation,
and the SSRF guard on every URL users configure."""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
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


# Every kind of IPv4 address that is not on the public internet, and some that are.
INSIDE = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/29",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "224.0.0.0/4",
    "240.0.0.0/4",
]
OUTSIDE = ["8.8.8.0/24", "1.1.1.0/24", "93.184.215.0/24", "52.94.0.0/16"]


def _in(networks: list[str]) -> st.SearchStrategy[ipaddress.IPv4Address]:
    def pick(net: ipaddress.IPv4Network) -> st.SearchStrategy[ipaddress.IPv4Address]:
        first = int(net.network_address)
        return st.integers(first, first + net.num_addresses - 1).map(ipaddress.IPv4Address)

    return st.one_of(*(pick(ipaddress.IPv4Network(n)) for n in networks))


# How IPv6 carries an IPv4 address, each leading to it through a translator or a tunnel.
CARRIERS = {
    "mapped ::ffff:a.b.c.d": lambda v4: int(v4) | 0xFFFF << 32,
    "compatible ::a.b.c.d": lambda v4: int(v4),
    "SIIT ::ffff:0:a.b.c.d": lambda v4: int(v4) | 0xFFFF << 48,
    "NAT64 64:ff9b::a.b.c.d": lambda v4: int(v4) | 0x64FF9B << 96,
    "6to4 2002:a.b.c.d::1": lambda v4: 0x2002 << 112 | int(v4) << 80 | 1,
}


def _resolving_to(address: ipaddress.IPv6Address):
    return lambda host, port: [str(address)]


@pytest.mark.parametrize("carrier", CARRIERS)
@given(inside=_in(INSIDE))
def test_an_ipv6_address_carrying_an_inside_ipv4_address_is_refused(carrier, inside):
    address = ipaddress.IPv6Address(CARRIERS[carrier](inside))
    with pytest.raises(ssrf.UnsafeUrl, match="private, loopback or link-local"):
        ssrf.check("https://hooks.example.com/x", resolve=_resolving_to(address))


@pytest.mark.parametrize("carrier", [c for c in CARRIERS if not c.startswith("compatible")])
@given(outside=_in(OUTSIDE))
def test_an_ipv6_address_carrying_a_public_ipv4_address_passes(carrier, outside):
    address = ipaddress.IPv6Address(CARRIERS[carrier](outside))
    target = ssrf.check("https://hooks.example.com/x", resolve=_resolving_to(address))
    assert target.addresses == (str(address),)


@given(server=_in(OUTSIDE + INSIDE), client=_in(INSIDE), port=st.integers(0, 0xFFFF))
def test_a_teredo_address_is_refused_whatever_it_carries(server, client, port):
    obfuscated = (port ^ 0xFFFF) << 32 | int(client) ^ 0xFFFFFFFF
    address = ipaddress.IPv6Address(0x20010000 << 96 | int(server) << 64 | obfuscated)
    assert address.teredo == (server, client)
    with pytest.raises(ssrf.UnsafeUrl):
        ssrf.check("https://hooks.example.com/x", resolve=_resolving_to(address))


@pytest.mark.parametrize(
    "literal",
    [
        "[::a9fe:a9fe]",
        "[::169.254.169.254]",
        "[64:ff9b::a9fe:a9fe]",
        "[2002:a9fe:a9fe::]",
        "[::ffff:0:7f00:1]",
        "[64:ff9b:1::a9fe:a9fe]",
    ],
)
def test_the_metadata_service_behind_an_ipv6_literal_is_refused(literal):
    with pytest.raises(ssrf.UnsafeUrl):
        ssrf.check(f"https://{literal}/latest/meta-data/")
