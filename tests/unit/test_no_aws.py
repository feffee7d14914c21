"""tests/unit cannot reach the embedded AWS, an AWS endpoint or the network (unit/conftest.py)."""

from __future__ import annotations

import socket
import urllib.request

import boto3
import pytest

from chalicelib.local import emulator, ports
from chalicelib.store.models import ContactModel
from tests.unit.conftest import NotAUnitTest


def test_starting_the_embedded_aws_fails_here(request):
    with pytest.raises(NotAUnitTest, match="starts no embedded AWS"):
        emulator.start()
    with pytest.raises(NotAUnitTest, match="starts no embedded AWS"):
        emulator.Emulator(ports.free()).start()
    with pytest.raises(NotAUnitTest, match="starts no embedded AWS"):
        request.getfixturevalue("svc")


def test_an_aws_request_fails_here_naming_it():
    client = boto3.client("sqs", endpoint_url="http://127.0.0.1:9", region_name="us-east-1")

    with pytest.raises(NotAUnitTest, match=r"sends no AWS request \(POST http://127.0.0.1:9/"):
        client.list_queues()
    with pytest.raises(NotAUnitTest, match="sends no AWS request"):
        ContactModel.get("ct_1")


def test_a_network_connection_fails_here():
    with pytest.raises(NotAUnitTest, match="opens no network connection"):
        socket.create_connection(("127.0.0.1", 9), timeout=1)
    with pytest.raises(NotAUnitTest, match="opens no network connection"):
        urllib.request.urlopen("http://127.0.0.1:9/", timeout=1)
