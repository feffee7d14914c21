"""The sender on its own: how many queued emails a second it renders, sends and records.

In a burst the sender only ever waits for the pipeline, so its own pace does not show. Here N
new leads are posted through the real handler and their events processed by the real
pipeline, in this process, until N thank-you emails wait on the sends queue; then the queue
is drained by the sender, with as many consumers as the local stack's queue worker runs
(`drivers.CONSUMERS`), each the same `queue_driver.drain_once` + `sender.handle_batch` that
worker loops on, against the embedded AWS in a process of its own. Prints emails a second and
checks every one reached the outbox. Target: at least 200 a second.

    .venv/bin/python bench/sender.py [--n 1000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chalicelib.local import emulator  # noqa: E402

TARGET_PER_SECOND = 200.0
QUICK_N = 20


def _posted_and_queued(n: int, outbox: Path) -> tuple[object, float]:
    """Services with `n` thank-you emails on the sends queue; the seconds that took."""
    from chalice.test import Client

    from app import app
    from chalicelib import bootstrap
    from chalicelib.config import Settings
    from chalicelib.content import catalog
    from chalicelib.local.provision import provision
    from chalicelib.local.stream_driver import StreamDriver
    from chalicelib.messaging.queues import SENDS
    from chalicelib.pipeline import stream
    from chalicelib.store.models import EventModel

    settings = Settings.from_env(
        {
            "LEADFLOW_STAGE": "bench",
            "AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"],
            "LEADFLOW_SIGNING_SECRET": "bench-secret-0123456789abcdef",
            "LEADFLOW_MAX_SEND_RATE": "100000",  # SES's quota is not what is measured here
            "LEADFLOW_OUTBOX_DIR": str(outbox),
            # The leads are set-up, posted from this machine: the forms' limit is not measured.
            "LEADFLOW_LIMIT_EXEMPT": "127.0.0.1",
        }
    )
    svc = bootstrap.build(settings)
    provision(svc, catalog.load(ROOT / "marketing"))
    bootstrap.reset(svc)
    started = time.perf_counter()
    with Client(app, project_dir=str(ROOT)) as client:
        for i in range(n):
            body = {"email": f"send-{i}@example.com", "first_name": "Send", "company": "Co"}
            answer = client.http.post(
                "/forms/whitepaper/submissions",
                headers={"Content-Type": "application/json"},
                body=json.dumps({**body, "consent": True}),
            )
            assert answer.status_code == 201, answer.body
    driver = StreamDriver(
        EventModel.Meta.table_name,
        lambda batch: stream.handle_batch(batch["Records"], svc.processor),
    )
    while svc.queues.depth(SENDS) < n:
        if not driver.poll_once():
            time.sleep(0.05)
    return svc, time.perf_counter() - started


def drain(svc: object, consumers: int) -> float:
    """Seconds for `consumers` sender loops to empty the sends queue."""
    from chalicelib.local import queue_driver
    from chalicelib.messaging.queues import SENDS
    from chalicelib.services import sender

    def consume(_: int) -> None:
        while queue_driver.drain_once(
            svc.queues, SENDS, lambda batch: sender.handle_batch(batch, svc.sender)
        ):
            pass

    started = time.perf_counter()
    with ThreadPoolExecutor(consumers) as pool:
        list(pool.map(consume, range(consumers)))
    return time.perf_counter() - started


def measure(n: int) -> dict[str, float]:
    from chalicelib.local.drivers import CONSUMERS
    from chalicelib.messaging.queues import SENDS

    engine = emulator.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            outbox = Path(folder) / "outbox"
            svc, setup = _posted_and_queued(n, outbox)
            seconds = drain(svc, CONSUMERS[SENDS])
            sent = len(list(outbox.glob("*.eml")))
    finally:
        engine.kill()
    return {"n": n, "sent": sent, "seconds": seconds, "setup": setup, "consumers": CONSUMERS[SENDS]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="emails to queue and send (1000)")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_N} emails: a check only")
    args = parser.parse_args(argv)
    figures = measure(QUICK_N if args.quick else args.n)
    rate = figures["sent"] / figures["seconds"]
    ok = figures["sent"] == figures["n"] and rate >= TARGET_PER_SECOND
    print(
        f"\nsender: {figures['n']:.0f} queued thank-you emails ({figures['setup']:.1f} s to post"
        f" and process the leads), {figures['consumers']:.0f} consumers"
    )
    print(f"  sent to the outbox   {figures['sent']:8.0f}")
    print(
        f"  emails a second      {rate:8.1f}   {'PASS' if ok else 'FAIL'} >= {TARGET_PER_SECOND:g}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
