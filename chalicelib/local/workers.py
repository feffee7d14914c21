"""The local stack's driver processes: the pipeline and the queue consumers, as Lambdas.

Each worker is a child process running some of `drivers.loops` on threads. It writes its
loops' health to a small JSON file every second, so the API's `/health` can show it, and it
ends when its parent does; `supervisor.supervise` restarts a worker that died.

    python -m chalicelib.local.workers --roles pipeline --status .leadflow/pipeline.json
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
STATUS_EVERY_SECONDS = 1.0
STALE_SECONDS = 5.0
# Libraries that log a line per request or per state change at INFO: a burst would bury what
# matters (an outage, a failure) under thousands of them.
NOISY = ("werkzeug", "botocore", "pynamodb", "transitions")
FINISH_SECONDS = 10.0
# Young, middle, old: see configure_process(). The emulator, which imports nothing of ours,
# collects on a timer instead (emulator_main.main).
GC_THRESHOLDS = (50_000, 20, 10)
# Which loops run in which process: the pipeline alone (it is the busiest), the queues
# together. The tick and the sweeper stay in the stack's own process.
ROLES = {
    "pipeline": ("pipeline",),
    "queues": ("sends", "webhooks", "journey-advance", "imports"),
}


class Worker:
    def __init__(self, name: str, roles: tuple[str, ...], status: Path) -> None:
        self.role = name
        self.name = f"the {name} worker"
        self.roles = roles
        self.status = status
        self.restarts = 0
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.status.unlink(missing_ok=True)
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "chalicelib.local.workers",
                "--roles",
                ",".join(self.roles),
                "--status",
                str(self.status),
                "--parent",
                str(os.getpid()),
            ],
            start_new_session=True,  # Ctrl-C reaches the stack, which stops us in order
        )

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def terminate(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()

    def wait(self, seconds: float = 30.0) -> None:
        """Wait for the worker to end after `terminate`; kill it if it takes longer."""
        if self._process is None:
            return
        try:
            self._process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def health(self) -> dict[str, Any]:
        """The worker's loops as it last reported them; raises when it is silent."""
        try:
            report = json.loads(self.status.read_text())
        except (OSError, ValueError) as exc:
            raise RuntimeError(f"{self.name} has not reported") from exc
        age = time.time() - report["at"]
        if age > STALE_SECONDS:
            raise RuntimeError(f"{self.name} silent for {age:.0f} s")
        if report["down"]:
            raise RuntimeError("; ".join(report["down"]))
        return dict(report["loops"])


def start_all(state: Path) -> list[Worker]:
    workers = [Worker(name, roles, state / f"worker-{name}.json") for name, roles in ROLES.items()]
    for worker in workers:
        worker.start()
    return workers


def stop_all(workers: list[Worker]) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.wait()


def _report(loops: list[Any], status: Path) -> None:
    states: dict[str, Any] = {}
    down = []
    for lp in loops:
        try:
            states[lp.name] = lp.health()
        except RuntimeError as exc:
            down.append(f"{lp.name}: {exc}")
    tmp = status.with_suffix(".tmp")
    tmp.write_text(json.dumps({"at": time.time(), "loops": states, "down": down}))
    os.replace(tmp, status)


def serve(roles: frozenset[str], status: Path, parent: int | None) -> None:
    from chalicelib import bootstrap
    from chalicelib.local import drivers, loop

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    running = drivers.loops(bootstrap.services(), roles)
    threads = loop.threads(running, stop)
    for thread in threads:
        thread.start()
    while not stop.wait(STATUS_EVERY_SECONDS):
        if parent is not None and os.getppid() != parent:
            break
        with contextlib.suppress(OSError):
            _report(running, status)
    stop.set()
    for thread in threads:  # let each loop finish the message or event in hand
        thread.join(timeout=FINISH_SECONDS)


def configure_process() -> None:
    """A local process's logging and its cycle collector. Every event, message and request
    makes thousands of short-lived dicts; at the default threshold (700 new objects) the
    collector ran hundreds of times a second and took 7% of a lead's CPU, for cycles that
    are rare. They are still collected, less often."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    gc.set_threshold(*GC_THRESHOLDS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--roles", required=True)
    parser.add_argument("--status", type=Path, required=True)
    parser.add_argument("--parent", type=int)
    args = parser.parse_args()
    configure_process()
    serve(frozenset(args.roles.split(",")), args.status, args.parent)


if __name__ == "__main__":
    main()
