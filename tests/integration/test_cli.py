"""The `leadflow` command as a newcomer meets it: one line that says what to do when AWS
cannot be used, and warnings for a simulation script that names what exists nowhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.builders import ROOT


def _leadflow(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The command in a clean environment: no AWS settings but those given, no ~/.aws."""
    base = {
        "PATH": os.environ["PATH"],
        "HOME": str(cwd),
        "AWS_CONFIG_FILE": str(cwd / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(cwd / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return subprocess.run(
        [sys.executable, "-m", "chalicelib.cli", *args],
        cwd=cwd,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "command",
    [
        ("keys", "create", "--name", "ops laptop"),
        ("publish", str(ROOT / "marketing")),
    ],
)
def test_without_aws_credentials_a_command_prints_one_line_that_says_what_to_do(tmp_path, command):
    done = _leadflow(*command, cwd=tmp_path)

    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert "no AWS credentials" in done.stderr
    assert "`make run` and add --local" in done.stderr


def test_local_commands_say_so_when_the_local_stack_has_stopped(tmp_path):
    (tmp_path / ".leadflow").mkdir()
    (tmp_path / ".leadflow" / "stack.json").write_text(
        json.dumps({"endpoint": "http://127.0.0.1:9"})
    )

    done = _leadflow("keys", "create", "--name", "me", "--local", cwd=tmp_path)

    assert done.returncode == 1
    assert done.stderr == (
        "leadflow keys create: the local stack does not answer: is `make run` still running?\n"
    )


def test_a_stage_without_tables_is_named_instead_of_a_traceback(tmp_path, aws):
    done = _leadflow(
        "keys",
        "create",
        "--name",
        "me",
        cwd=tmp_path,
        AWS_ENDPOINT_URL=aws.endpoint,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_REGION="us-east-1",
        LEADFLOW_STAGE="nowhere",
    )

    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert "stage 'nowhere' has no Leadflow tables" in done.stderr


def test_simulate_warns_of_events_and_steps_that_exist_nowhere_and_runs_anyway(tmp_path):
    done = _leadflow(
        "simulate",
        "whitepaper",
        "--path",
        str(ROOT / "marketing"),
        "--contact",
        '{"email": "ada@example.com"}',
        "--start",
        "2026-01-09T21:00+01:00",
        "--days",
        "5",
        "--event",
        "4d email_clikced step=case-stdy",
        "--event",
        "1d email_opened step=pause",
        "--event",
        "2d email_clicked step=thank-you",
        "--event",
        "3d demo_requested",
        cwd=tmp_path,
        LEADFLOW_SIGNING_SECRET="set-by-the-user",
    )

    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "warning: --event '4d email_clikced step=case-stdy': no journey, scoring or rule reads "
        "email_clikced, and Leadflow does not record it (did you mean email_clicked?)",
        "warning: --event '4d email_clikced step=case-stdy': journey whitepaper has no step "
        "'case-stdy' (did you mean case-study?)",
        "warning: --event '1d email_opened step=pause': step 'pause' sends no email, so "
        "nothing matches this",
    ]
    assert "email_clikced  step=case-stdy" in done.stdout  # the script still ran as written


def test_a_sales_key_for_an_owner_routing_does_not_know_is_refused(tmp_path, svc):
    aws = {
        "AWS_ENDPOINT_URL": svc.settings.endpoint_url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "LEADFLOW_STAGE": "test",
    }
    args = ("keys", "create", "--name", "phone", "--role", "sales", "--owner")

    unknown = _leadflow(*args, "nobody", cwd=tmp_path, **aws)
    known = _leadflow(*args, "ada", cwd=tmp_path, **aws)

    assert unknown.returncode == 2
    assert "no owner 'nobody' in routing.yaml (ada, ben" in unknown.stderr
    assert known.returncode == 0 and known.stdout.startswith("lf_")
