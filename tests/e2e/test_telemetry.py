"""Operations telemetry: each invocation writes what it counted as one CloudWatch EMF line,
and logs are JSON with the request id and no email address or phone number."""

from __future__ import annotations

import io
import json
import logging

import pytest

from chalicelib import telemetry
from tests.builders import lead, post_json


def _emf_lines(text: str) -> list[dict]:
    found = []
    for line in text.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            found.append(json.loads(line))
    return found


def _counted(lines: list[dict]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for line in lines:
        for spec in line["_aws"]["CloudWatchMetrics"]:
            assert spec["Namespace"] == "Leadflow"
            for metric in spec["Metrics"]:
                value = line[metric["Name"]]
                values = value if isinstance(value, list) else [value]
                totals[metric["Name"]] = totals.get(metric["Name"], 0) + sum(values)
    return totals


@pytest.fixture
def metered(monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    telemetry.metrics.clear_metrics()
    yield
    telemetry.metrics.clear_metrics()


def test_a_refused_post_and_a_lead_through_the_pipeline_are_counted(
    client, svc, journeys, metered, capsys
):
    assert post_json(client, lead(email="not an email")).status_code == 422
    assert post_json(client, lead()).status_code == 201
    journeys.settle()  # the pipeline counts the form post, the hand-off, the emails queued
    telemetry.flush()

    counted = _counted(_emf_lines(capsys.readouterr().out))
    assert counted["FormRefused"] == 1
    assert counted["FormPosts"] == 1


def test_logs_are_json_with_the_request_id_and_mask_people(metered):
    stream = io.StringIO()
    logger = telemetry.configure(stream=stream)
    try:
        telemetry.begin("req-42")
        log = logging.getLogger("chalicelib.services.sender")
        log.warning("send to %s (%s) failed", "ada@example.com", "+86 138 0013 8000")
        try:
            raise ValueError("no contact with the email grace@example.org")
        except ValueError:
            log.exception("ct_1234 crashed")
    finally:
        for name in ("chalicelib", "leadflow"):
            logging.getLogger(name).handlers = []
            logging.getLogger(name).propagate = True
        del logger

    first, second = (json.loads(line) for line in stream.getvalue().splitlines()[:2])
    assert first["message"] == "send to [masked] ([masked]) failed"
    assert (first["request_id"], first["service"], first["level"]) == (
        "req-42",
        "leadflow",
        "WARNING",
    )
    assert "ct_1234 crashed" in second["message"] and "ValueError" in second["message"]
    assert "example" not in stream.getvalue()


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("send to ada@example.com failed", "send to [masked] failed"),
        ("手机13800138000 已分配", "手机[masked] 已分配"),
        ("call +44 20 7946 0958 back", "call [masked] back"),
        ("call (415) 555-0134 back", "call [masked] back"),
        ("tick at 2026-11-30 12:00:01 took 1234567 ms", None),
        ("contact ct_ab13912345678cd9f0e1d2c3b4a5f6e7d8", None),
        ("event 01M8VMJY5HY0XXYZNM00000000 parked", None),
    ],
)
def test_masking_takes_addresses_and_numbers_and_leaves_times_and_ids(line, shown):
    assert telemetry.mask(line) == (shown or line)
