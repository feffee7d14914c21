"""Amazon SNS messages posted to us over HTTPS: verified before anything is believed.

The signature is checked against the certificate SNS names (fetched only from an SNS host over
https, and cached), and the topic must be one the deployment lists: a valid signature alone
proves only that *some* AWS account's topic sent it.
"""

from __future__ import annotations

import base64
import binascii
import re
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

_SNS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
_NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_SUBSCRIPTION_KEYS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
_HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}


class Unverified(ValueError):
    """Not a genuine SNS message from a topic we listen to."""


def sns_url(url: str) -> bool:
    parsed = urlparse(url or "")
    return parsed.scheme == "https" and bool(_SNS_HOST.match(parsed.hostname or ""))


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return answer.read()


def string_to_sign(message: dict[str, Any]) -> bytes:
    keys = _NOTIFICATION_KEYS if message.get("Type") == "Notification" else _SUBSCRIPTION_KEYS
    parts = [f"{key}\n{message[key]}\n" for key in keys if message.get(key) is not None]
    return "".join(parts).encode()


class Verifier:
    def __init__(self, topics: tuple[str, ...], fetch: Callable[[str], bytes] = _fetch) -> None:
        self.topics = topics
        self.fetch = fetch
        self._certs: dict[str, x509.Certificate] = {}

    def _certificate(self, url: str) -> x509.Certificate:
        if not sns_url(url):
            raise Unverified("the signing certificate is not on an SNS host")
        if url not in self._certs:
            self._certs[url] = x509.load_pem_x509_certificate(self.fetch(url))
        return self._certs[url]

    def verify(self, message: dict[str, Any]) -> None:
        if not self.topics:
            raise Unverified("no SES feedback topic is configured (LEADFLOW_SES_FEEDBACK_TOPICS)")
        if message.get("TopicArn") not in self.topics:
            raise Unverified(f"topic {message.get('TopicArn')!r} is not one we listen to")
        algorithm = _HASHES.get(str(message.get("SignatureVersion")))
        if algorithm is None:
            raise Unverified("unknown SignatureVersion")
        try:
            signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise Unverified("the signature is not base64") from exc
        key = self._certificate(str(message.get("SigningCertURL", ""))).public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise Unverified("the signing certificate is not RSA")
        try:
            key.verify(signature, string_to_sign(message), padding.PKCS1v15(), algorithm())
        except InvalidSignature as exc:
            raise Unverified("the signature does not match") from exc

    def confirm(self, message: dict[str, Any]) -> None:
        """Visit SubscribeURL, which is how an SNS HTTPS subscription is confirmed."""
        url = str(message.get("SubscribeURL", ""))
        if not sns_url(url):
            raise Unverified("SubscribeURL is not on an SNS host")
        self.fetch(url)
