"""A client built with `user_agent.remember` sends the User-Agent botocore would, built once."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

from chalicelib import user_agent


class _Raw:
    def stream(self, **_: Any) -> Any:
        yield b"{}"


def _client(sent: list[str]) -> Any:
    client = boto3.client(
        "sqs",
        region_name="eu-west-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )

    def answer(request: Any, **_: Any) -> AWSResponse:  # nothing leaves this process
        sent.append(request.headers["User-Agent"].decode())
        return AWSResponse(request.url, 200, {}, _Raw())

    client.meta.events.register("before-send", answer)
    return client


def test_each_request_carries_the_header_botocore_builds() -> None:
    plain, remembered = [], []
    a, b = _client(plain), user_agent.remember(_client(remembered))
    for _ in range(3):
        a.list_queues()
        b.list_queues()
    assert remembered == plain
    assert remembered[0].startswith("Boto3/") and "ua/2.1" in remembered[0]


def test_the_header_is_built_once_per_set_of_features() -> None:
    client = _client([])
    creator = client._user_agent_creator
    build, builds = creator.to_string, []

    def counted() -> str:
        builds.append(1)
        return build()

    creator.to_string = counted
    user_agent.remember(client)
    user_agent.remember(client)  # twice is once
    for _ in range(5):
        client.list_queues()
    assert len(builds) == 1
