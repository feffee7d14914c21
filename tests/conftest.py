"""Shared fixtures: the embedded AWS started once, on first use, for the tests that need it;
fresh tables and a fake clock per test. The builders are in tests/builders.py.

Nothing starts at import: `aws` (session scope) starts the emulator the first time a test asks
for it, directly or through `svc`, `client`, `pipeline`, `journeys`, `admin_key` or `ada`.
tests/unit never does (tests/unit/conftest.py makes it fail).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from app import app
from chalicelib import bootstrap
from chalicelib.clock import FakeClock
from chalicelib.config import Settings
from chalicelib.content import catalog
from chalicelib.local import emulator
from chalicelib.local.provision import provision
from chalicelib.store import tables
from tests.builders import ROOT, Journeys, Pipeline, lead, post_json

# No test reaches a real AWS account: every AWS client of the test process gets the emulator's
# fake credentials, and the `aws` fixture points them at the embedded AWS.
os.environ.update(emulator.FAKE_CREDENTIALS)
os.environ.pop("AWS_PROFILE", None)
# CloudWatch metric lines are for AWS; tests/e2e/test_telemetry.py turns them on to read them.
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")

_running: emulator.Emulator | None = None


@pytest.fixture(scope="session")
def aws() -> Iterator[emulator.Emulator]:
    """The embedded AWS (DynamoDB, SQS, SES on one local port), started on first use for the
    rest of the session; this process's AWS clients talk to it (`aws.endpoint`)."""
    global _running
    # Tests run on a fake clock in January 2026: by the wall clock the emulator's TTL reaper
    # goes by, every TTL they write is past, and it would delete records mid-test.
    _running = emulator.start(expire=False)
    yield _running
    _running.stop()
    _running = None


def _aws() -> emulator.Emulator:
    if _running is None:
        raise RuntimeError("the embedded AWS is not started: ask for the `aws` fixture")
    return _running


def reset_aws() -> None:
    """Forget every table and queue of the session's embedded AWS (needs the `aws` fixture)."""
    _aws().reset()


def settings(**overrides: Any) -> Settings:
    """Settings for the session's embedded AWS (needs the `aws` fixture)."""
    base = Settings.from_env(
        {
            "LEADFLOW_STAGE": "test",
            "AWS_ENDPOINT_URL": _aws().endpoint,
            "LEADFLOW_PUBLIC_URL": "https://leads.example.com",
            "LEADFLOW_SIGNING_SECRET": "test-secret-0123456789abcdef",
            "LEADFLOW_MAX_SEND_RATE": "1000",
        }
    )
    return Settings(**{**base.__dict__, **overrides})


def fresh_world() -> Journeys:
    """Empty tables and queues, services on a new fake clock: a world of its own for each
    example of a property test (where function fixtures are shared between examples)."""
    reset_aws()
    clock = FakeClock()
    services = bootstrap.build(settings(), clock)
    tables.create_all()
    services.queues.create_all()
    bootstrap.reset(services)
    return Journeys(services, Pipeline(services), clock)


@functools.cache
def _sample_content() -> catalog.Catalog:
    """The sample marketing/ content, loaded once a session: loading compiles every template
    (0.4 s), and publishing only reads it. A test that wants other content loads its own."""
    return catalog.load(ROOT / "marketing")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def svc(aws: emulator.Emulator, clock: FakeClock, tmp_path: Path) -> Iterator[bootstrap.Services]:
    """Services on empty tables with the sample marketing/ content published; mail that SES
    accepts is also kept in a per-test outbox folder."""
    aws.reset()
    services = bootstrap.build(
        settings(outbox_dir=str(tmp_path / "outbox")),
        clock,
        sleep=lambda s: clock.advance(seconds=s),
    )
    provision(services, _sample_content())
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


@pytest.fixture
def pipeline(svc: bootstrap.Services) -> Pipeline:
    return Pipeline(svc)


@pytest.fixture
def journeys(svc: bootstrap.Services, pipeline: Pipeline, clock: FakeClock) -> Journeys:
    return Journeys(svc, pipeline, clock)


@pytest.fixture
def ada(client, svc: bootstrap.Services, journeys: Journeys) -> str:
    """Ada downloads the playbook; the thank-you email (two tracked links) is delivered."""
    assert post_json(client, lead()).status_code == 201
    journeys.settle()
    assert journeys.deliver() == 1
    journeys.settle()
    contact_id = svc.contacts.find_by_key("email:ada@example.com")
    assert contact_id is not None
    return contact_id


# The files that take longest start first: with one file per worker (`--dist loadfile`), a
# long file picked up last would run alone at the end while the other core idles.
SLOW_FIRST = (
    "tests/e2e/test_api_contract.py",
    "tests/e2e/test_docs.py",
    "tests/integration/test_lifecycle_properties.py",
    "tests/e2e/test_stack.py",
    "tests/e2e/test_benches.py",
    "tests/integration/test_journey_properties.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return SLOW_FIRST.index(path) if path in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: the order within and among the other files is kept
