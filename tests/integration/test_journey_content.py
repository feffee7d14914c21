"""`leadflow simulate` as a process: the real services run a journey on moto's in-memory AWS and
a fake clock (journey files, the schema and the graph: tests/unit/test_journey_content.py)."""

from __future__ import annotations

import subprocess
import sys

from tests.builders import ROOT


def _simulate(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "chalicelib.cli", "simulate", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "failed" not in done.stderr, done.stderr  # a normal run reports no failed event
    return done.stdout


def test_simulate_prints_when_each_email_goes_and_why():
    out = _simulate(
        "whitepaper",
        "--contact",
        '{"email": "ada@example.com", "first_name": "Ada"}',
        "--start",
        "2026-01-09T21:00+01:00",
        "--event",
        "4d email_clicked step=case-study",
        "--days",
        "10",
    )
    lines = out.splitlines()
    assert any(
        line.startswith("Fri 2026-01-09 21:00  thank-you") and "email" in line for line in lines
    )
    assert any(
        "case-study" in line and "deferred" in line and "quiet hours" in line for line in lines
    )
    assert any(line.startswith("Tue 2026-01-13 08:00  case-study") for line in lines)
    assert any("clicked-case-study" in line and "event arrived" in line for line in lines)
    assert any("to-sales" in line and "handoff" in line for line in lines)


def test_simulate_explains_a_contact_that_does_not_enter():
    out = _simulate("birthday", "--contact", '{"email": "li@example.cn"}', "--days", "2")
    assert "did not enter: entry condition: birthday is empty" in out
