"""The local stack a bench measures: the running one (`make run`), or one it starts itself.

with local_stack() as stack:   # uses .leadflow/stack.json if that stack answers
    stack.api, stack.webhooks, stack.outbox
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.local import stack as stack_module

ROOT = Path(__file__).resolve().parent.parent
READY_SECONDS = 60.0


@dataclass(frozen=True)
class Stack:
    api: str
    webhooks: str
    outbox: Path
    endpoint: str


def _read(state: Path) -> Stack | None:
    info = state / "stack.json"
    if not info.exists():
        return None
    ports = json.loads(info.read_text())
    stack = Stack(
        api=f"http://127.0.0.1:{ports['api']}",
        webhooks=f"http://127.0.0.1:{ports['webhooks']}",
        outbox=Path(ports["outbox"]),
        endpoint=ports["endpoint"],
    )
    try:
        with urllib.request.urlopen(f"{stack.api}/health", timeout=5) as answer:
            answer.read()
    except OSError:
        return None
    return stack


def submit(
    api: str, fields: dict[str, Any], form: str = "whitepaper"
) -> tuple[int, dict[str, str]]:
    """POST a form submission as a website's backend would; the status and the headers."""
    request = urllib.request.Request(
        f"{api}/forms/{form}/submissions",
        data=json.dumps(fields).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            answer.read()
            return answer.status, dict(answer.headers)
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers)


@contextmanager
def local_stack(
    start: bool | None = None, state: Path | None = None, port: int | None = None
) -> Iterator[Stack]:
    """The running stack; or, when none runs or `start` is True, one of our own: fresh, or on
    `state` (kept afterwards, so a second stack on it finds what the first left)."""
    running = None if start else _read(ROOT / ".leadflow")
    if running is not None:
        yield running
        return
    keep = state is not None
    state = state or Path(tempfile.mkdtemp(prefix="leadflow-bench-"))
    port = port or stack_module.free_port()
    log = open(state.parent / f"{state.name}.log", "ab")  # noqa: SIM115
    # The stack sets its own AWS endpoint and settings: none of this process's may leak in.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LEADFLOW_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "chalicelib.cli", "run", "--port", str(port), "--state", str(state)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        deadline = time.monotonic() + READY_SECONDS
        while (stack := _read(state)) is None:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the local stack did not start; see {log.name}")
            time.sleep(0.2)
        yield stack
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        if not keep:
            shutil.rmtree(state, ignore_errors=True)
