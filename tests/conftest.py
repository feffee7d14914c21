"""Shared fixtures: one moto server for the session, fresh tables and a fake clock per test."""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.local import moto_server

ROOT = Path(__file__).resolve().parent.parent
logging.getLogger("werkzeug").setLevel(logging.WARNING)
_server, ENDPOINT = moto_server.start()

from chalice.test import Client  # noqa: E402

from app import app  # noqa: E402
from chalicelib import bootstrap  # noqa: E402
from chalicelib.clock import FakeClock  # noqa: E402
from chalicelib.config import Settings  # noqa: E402
from chalicelib.content import catalog, publisher  # noqa: E402
from chalicelib.local.stream_driver import StreamDriver  # noqa: E402
from chalicelib.pipeline import stream  # noqa: E402
from chalicelib.store import tables  # noqa: E402
from chalicelib.store.models import EventModel  # noqa: E402


def _reset_moto() -> None:
    request = urllib.request.Request(f"{ENDPOINT}/moto-api/reset", method="POST", data=b"")
    urllib.request.urlopen(request).read()


def settings(**overrides: Any) -> Settings:
    base = Settings.from_env(
        {
            "LEADFLOW_STAGE": "test",
            "AWS_ENDPOINT_URL": ENDPOINT,
            "LEADFLOW_PUBLIC_URL": "https://leads.example.com",
        }
    )
    return Settings(**{**base.__dict__, **overrides})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def svc(clock: FakeClock) -> Iterator[bootstrap.Services]:
    """Services on empty tables with the sample marketing/ content published."""
    _reset_moto()
    services = bootstrap.build(settings(), clock)
    tables.create_all()
    publisher.publish(catalog.load(ROOT / "marketing"), services.content)
    bootstrap.reset(services)
    yield services
    bootstrap.reset(None)


@pytest.fixture
def client(svc: bootstrap.Services) -> Iterator[Client]:
    with Client(app, project_dir=str(ROOT)) as test_client:
        yield test_client


@pytest.fixture
def admin_key(svc: bootstrap.Services) -> str:
    return svc.api_keys.create("test admin", "admin")


class Pipeline:
    """Drives the real stream consumer over moto's stream, as the local stack does."""

    def __init__(self, services: bootstrap.Services) -> None:
        self.services = services
        self.driver = StreamDriver(
            EventModel.Meta.table_name,
            lambda batch: stream.handle_batch(batch["Records"], self.services.processor),
        )

    def drain(self, rounds: int = 20) -> int:
        total = 0
        for _ in range(rounds):
            handled = self.driver.poll_once()
            total += handled
            if not handled:
                break
        return total


@pytest.fixture
def pipeline(svc: bootstrap.Services) -> Pipeline:
    return Pipeline(svc)


def lead(**overrides: Any) -> dict[str, Any]:
    """A valid whitepaper submission; override or drop (None) any field."""
    body: dict[str, Any] = {
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "company": "Analytical Engines",
        "consent": True,
        "utm_source": "linkedin",
        "utm_medium": "paid_social",
        "utm_campaign": "playbook-q4",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def post_json(client: Client, body: Any, form: str = "whitepaper", **headers: str):
    return client.http.post(
        f"/forms/{form}/submissions",
        headers={"Content-Type": "application/json", **headers},
        body=body if isinstance(body, str | bytes) else json.dumps(body),
    )


def track(client: Client, **body: Any):
    """POST /events with a JSON body, as a website's tracker does."""
    return client.http.post(
        "/events", headers={"Content-Type": "application/json"}, body=json.dumps(body)
    )


def all_events() -> list[EventModel]:
    return list(EventModel.scan())
