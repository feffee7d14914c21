"""A client of the embedded AWS names its credential and region without signing and goes to
its endpoint as given; any other client signs and resolves as botocore does."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

from chalicelib import loopback


class _Raw:
    def stream(self, **_: Any) -> Any:
        yield b"{}"


def _client(endpoint: str, sent: list[dict[str, str]], key: str = loopback.ACCESS_KEY) -> Any:
    client = boto3.client(
        "dynamodb",
        region_name="eu-west-1",
        endpoint_url=endpoint,
        aws_access_key_id=key,
        aws_secret_access_key="secret",
    )

    def answer(request: Any, **_: Any) -> AWSResponse:  # nothing leaves this process
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        sent.append({**headers, "url": request.url})
        return AWSResponse(request.url, 200, {}, _Raw())

    client.meta.events.register("before-send", answer)
    return client


def test_a_loopback_client_sends_its_credential_scope_and_no_signature() -> None:
    sent: list[dict[str, str]] = []
    loopback.adapt(_client("http://127.0.0.1:4566", sent)).list_tables()
    auth = sent[0]["Authorization"]
    assert auth.startswith(f"AWS4-HMAC-SHA256 Credential={loopback.ACCESS_KEY}/")
    assert "/eu-west-1/dynamodb/aws4_request" in auth
    assert auth.endswith("Signature=local")
    assert "X-Amz-Date" not in sent[0]  # SigV4 never ran
    assert sent[0]["url"] == "http://127.0.0.1:4566/"


def test_a_client_of_aws_itself_is_signed() -> None:
    sent: list[dict[str, str]] = []
    loopback.adapt(_client("https://dynamodb.eu-west-1.amazonaws.com", sent)).list_tables()
    auth = sent[0]["Authorization"]
    assert f"Credential={loopback.ACCESS_KEY}/" in auth and "Signature=local" not in auth
    assert len(auth.rsplit("Signature=", 1)[1]) == 64  # a SigV4 HMAC in hex
    assert "X-Amz-Date" in sent[0]


def test_twice_is_once() -> None:
    sent: list[dict[str, str]] = []
    client = loopback.adapt(loopback.adapt(_client("http://localhost:4566", sent)))
    client.list_tables()
    assert sent[0]["Authorization"].count("Credential=") == 1


def test_another_emulator_on_this_machine_gets_signed_requests() -> None:
    """One that may check signatures (a LocalStack with its own keys): left as it is."""
    sent: list[dict[str, str]] = []
    loopback.adapt(_client("http://127.0.0.1:4566", sent, key="test")).list_tables()
    assert "Signature=local" not in sent[0]["Authorization"]
    assert "X-Amz-Date" in sent[0]
