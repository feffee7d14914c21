"""Every bench runs here in a quick mode, so none can break unseen. These tests check that each
bench measures what it says (every lead counted, every webhook timed), never how fast: speed
is judged by `make bench`, as ratios within one run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import burst, soak, speed_to_lead
from bench.stack import Stack, local_stack

ROOT = Path(__file__).resolve().parents[2]


def _run(script: str, *args: str) -> str:
    """A bench as `make bench` runs it, in a process of its own (it starts its own emulator)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LEADFLOW_"))}
    answer = subprocess.run(
        [sys.executable, f"bench/{script}", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in answer.stderr, answer.stderr
    return answer.stdout


def test_the_capture_bench_counts_one_call_per_new_lead():
    out = _run("capture.py", "--quick")
    assert "new lead (form cached)          1.00     1   TransactWriteItems 1.00" in out


def test_the_tick_bench_reads_only_what_is_due():
    out = _run("tick.py", "--quick")
    assert "PASS  items read <= D x 1.05 + 10 = 52 (read 40 and 40)" in out
    assert "PASS  the worker advanced every enrollment it was given (20 of 20, 0 failed)" in out


def test_the_segments_bench_reads_the_same_for_one_event_whatever_the_contacts():
    out = _run("segments.py", "--quick")
    assert "PASS  no Scan" in out
    assert "PASS  every click entered clicked-30d (10 and 10 of 10)" in out
    assert "PASS  items read per event do not grow with contacts" in out
    assert "PASS  the broadcast planned 2,000 of 2,000 emails" in out
    assert "PASS  the sender sent the first 100 of them" in out


def test_the_lead_cpu_bench_takes_every_lead_to_its_thank_you_email():
    out = _run("lead_cpu.py", "--quick")
    assert "thank-you emails sent              5   of 5" in out
    assert re.search(r"all of it +\d+\.\d ms   (PASS|FAIL) <= 40 ms", out)


def test_the_sender_bench_sends_every_queued_email():
    out = _run("sender.py", "--quick")
    assert "sent to the outbox         20" in out


def test_the_import_bench_accounts_for_every_row_and_measures_memory_at_two_sizes():
    out = _run("import.py", "--quick")
    assert "every row accounted for     PASS" in out
    assert "MiB for 50 rows" in out and "MiB for 500: ratio" in out


def test_the_render_bench_renders_personalised_emails():
    out = _run("render.py", "--seconds", "0.2")
    assert "personalised emails per second" in out
    assert " rendered)" in out


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """One fresh local stack, as `make run` starts it, for the benches that need one."""
    with local_stack(start=True) as running:
        yield running


def test_the_burst_bench_sees_every_lead_enter_its_journey(stack):
    figures = burst.run(stack, n=40, concurrency=4)

    assert figures["accepted"] == 40
    assert figures["server_errors"] == 0
    assert figures["emailed"] == 40  # each one's thank-you email is in the outbox


def test_the_speed_to_lead_bench_times_every_hot_leads_webhook(stack):
    latencies, missing = speed_to_lead.measure(stack.api, stack.webhooks, n=8, rate=4)

    assert missing == 0
    assert len(latencies) == 8
    assert all(seconds > 0 for seconds in latencies)


def test_the_soak_bench_samples_the_emulators_memory(stack):
    result = soak.soak(stack, minutes=0.1, rate=5, every=2)

    assert result["failed"] == 0
    assert result["posted"] >= 20
    assert len(result["samples"]) >= 3
    assert all(mb > 10 for _, mb in result["samples"])


def test_the_reports_bench_reads_counters_not_contacts():
    out = _run("reports.py", "--quick")
    assert "PASS  overview: items read" in out and "PASS  campaign page: items read" in out
    assert "PASS  no Scan" in out


def test_the_cost_bench_prices_every_email_the_sender_sent():
    out = _run("cost.py", "--quick")
    month = re.search(r"The month at 1/([\d,]+) scale .*?, ([\d,]+) emails,", out)
    assert month, out
    scale, emails = (int(n.replace(",", "")) for n in month.groups())
    assert emails > 0
    # Two counts that share no code: email_sent events the pipeline saw, and SES requests
    # the meter saw at botocore.
    priced = re.search(r"SES emails\s+([\d,]+) emails", out)
    assert priced and int(priced.group(1).replace(",", "")) == emails * scale
    for group in ("emails and journeys", "leads and sales", "tracked events", "dashboard"):
        assert re.search(rf"^{group}: \$", out, re.M), group
    assert re.search(r"^(PASS|FAIL)  infrastructure without SES's price per email", out, re.M)
    assert re.search(r"^(PASS|FAIL)  all in per 1,000 contacts", out, re.M)


def test_make_bench_gathers_every_verdict_and_marks_a_crash():
    from bench.all import Outcome, checks_in, table

    checks = checks_in(
        "  PASS  calls per new lead <= 2 (max 1)\n  rows a second 220 FAIL >= 2000\n"
    )
    assert [(c.passed, c.target) for c in checks] == [
        (True, "calls per new lead <= 2 (max 1)"),
        (False, "rows a second 220 >= 2000"),
    ]
    shown = table([Outcome("import", 12.0, 1, checks)])
    assert "FAIL  rows a second 220 >= 2000" in shown and "1 of 2 targets met" in shown
