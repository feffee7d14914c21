"""The API does what chalicelib/api/openapi.yaml says: schemathesis fuzzes a running local stack.

Every phase runs (examples, coverage, fuzzing, stateful), and every check: no 5xx, no status,
content type, header or body outside the document, no schema-valid request refused, no
schema-invalid one accepted, and 405 for methods a route does not serve. It all writes only
to the stack's own state. `make fuzz` runs it with more examples.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bench.stack import Stack, local_stack
from tests.builders import ROOT

EXAMPLES = int(os.environ.get("LEADFLOW_FUZZ_EXAMPLES", "4"))
SEED = os.environ.get("LEADFLOW_FUZZ_SEED", "20261201")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Path]]:
    folder = tmp_path_factory.mktemp("contract")
    with local_stack(start=True, state=folder / "state") as running:
        yield running, folder


def _exchange(api: str, raw: bytes) -> list[bytes]:
    """Send raw bytes on one connection; the status of every answer that comes back."""
    url = urlsplit(api)
    with socket.create_connection((url.hostname, url.port), timeout=30) as conn:
        conn.sendall(raw)
        conn.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)


def test_a_chunked_body_is_read_and_the_next_request_on_the_connection_answered(stack):
    running, _ = stack
    body = json.dumps({"type": "page_viewed", "visitor_id": "v_chunked_1"}).encode()
    chunked = (
        b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
        + f"{len(body):x}\r\n".encode()
        + body
        + b"\r\n0\r\n\r\n"
        + b"TRACE /events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )

    statuses = _exchange(running.api, chunked)

    assert statuses == [b"202", b"405"]


@pytest.mark.parametrize("size", [b"-1", b"0x5", b"1_0", b"+5", b"zz"])
def test_a_malformed_chunk_size_is_a_400_and_reads_nothing_more(stack, size):
    running, _ = stack
    raw = (
        b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + size + b"\r\n{}\r\n0\r\n\r\n"
    )

    assert _exchange(running.api, raw) == [b"400"]


def test_the_api_answers_as_its_openapi_document_says(stack):
    running, folder = stack
    key = (folder / "state" / "local-admin-key").read_text().strip()
    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "schemathesis"),
            "--config-file",
            str(ROOT / "tests" / "e2e" / "schemathesis.toml"),
            "run",
            str(ROOT / "chalicelib" / "api" / "openapi.yaml"),
            "--url",
            running.api,
            "--header",
            f"X-Api-Key: {key}",
            "--checks",
            "all",
            "--max-examples",
            str(EXAMPLES),
            "--seed",
            SEED,
            "--workers",
            "1",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=folder,
    )

    log = (folder / "state.log").read_text(errors="replace")
    report = run.stdout[-12000:] + run.stderr[-3000:] + "\n--- the stack's log ---\n" + log[-6000:]
    assert run.returncode == 0, report
    assert "passed" in run.stdout and "failure" not in run.stdout.splitlines()[-1], report
