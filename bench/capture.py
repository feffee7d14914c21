"""`make bench`: form submissions through the real handler against raw puts on the same backend.

One run, one embedded AWS (ministack, in a process of its own): the handler's rate is judged
as a share of what a bare PynamoDB put achieves there, and the DynamoDB calls behind each
submission are counted on the wire.
bench/README.md says how to read the numbers.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from chalice.test import Client  # noqa: E402

from bench.backend import Backend, emulator_process  # noqa: E402
from bench.results import Results, Setting, report  # noqa: E402
from bench.timing import Sample  # noqa: E402
from bench.wire import Call, WireLog  # noqa: E402
from chalicelib import bootstrap  # noqa: E402
from chalicelib.content import catalog  # noqa: E402
from chalicelib.store import tables  # noqa: E402
from chalicelib.store.models import ContactKeyModel  # noqa: E402

FORM = "whitepaper"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="operations per row (default 200)")
    parser.add_argument(
        "--batch",
        type=int,
        default=10,
        help="fresh tables every BATCH operations (default 10; 0 keeps one set of tables "
        "for the whole run)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a small run that only checks the bench works"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.batch = 10, 5
    if args.n < 1 or args.batch < 0:
        parser.error("--n must be at least 1 and --batch at least 0")
    return args


def lead(email: str) -> str:
    return json.dumps(
        {
            "email": email,
            "first_name": "Ada",
            "last_name": "Lovelace",
            "company": "Analytical Engines",
            "consent": True,
            "utm_source": "linkedin",
            "utm_medium": "paid_social",
            "utm_campaign": "playbook-q4",
        }
    )


@dataclass(frozen=True)
class Template:
    """A new lead's TransactWriteItems exactly as the handler sent it, and the ids to renew.

    Replayed through the same botocore client on equally fresh tables, it is what one new lead
    costs with all of our code taken away.
    """

    body: str
    ids: tuple[str, ...]

    @classmethod
    def of(cls, email: str, calls: list[Call]) -> Template:
        body = next(call.body for call in calls if call.operation == "TransactWriteItems")
        items = [item["Put"]["Item"] for item in json.loads(body)["TransactItems"] if "Put" in item]
        event = next(item for item in items if "event_id" in item)
        return cls(body, (email, event["contact_id"]["S"], event["event_id"]["S"]))

    def fresh(self, serial: str) -> dict[str, Any]:
        body = self.body
        for n, old in enumerate(self.ids):
            body = body.replace(old, f"{serial}-{n}")
        params = json.loads(body)
        params.pop("ClientRequestToken", None)  # botocore makes a new one, as for a new request
        return params


class Runner:
    """The four rows, measured batch by batch on the same backend."""

    def __init__(self, backend: Backend, client: Client, wire: WireLog) -> None:
        self.backend = backend
        self.client = client
        self.wire = wire
        self.results = Results()
        self.serial = 0

    def _now(self) -> datetime:
        return self.backend.services.clock.now()

    def _next(self) -> str:
        self.serial += 1
        return f"bench-{self.serial}"

    def post(self, email: str) -> None:
        response = self.client.http.post(
            f"/forms/{FORM}/submissions",
            headers={"Content-Type": "application/json"},
            body=lead(email),
        )
        if response.status_code != 201:
            raise RuntimeError(f"POST answered {response.status_code}: {response.body!r}")

    def put(self) -> None:
        ContactKeyModel(key=self._next(), contact_id="bench", created_at=self._now()).save()

    def replay(self, params: dict[str, Any]) -> None:
        tables.connection().client.transact_write_items(**params)

    def fresh(self) -> tuple[str, list[Call]]:
        """New tables, then one post and one put so the form cache and code paths are hot."""
        self.backend.reset()
        email = f"{self._next()}@example.com"
        start = self.wire.mark()
        self.post(email)
        end = self.wire.mark()
        self.put()
        return email, self.wire.between(start, end)

    def counted(self, sample: Sample, operation: Callable[[], None]) -> list[Call]:
        start = self.wire.mark()
        sample.time(operation)
        return self.wire.between(start, self.wire.mark())

    def batch(self, size: int) -> None:
        res = self.results
        _, first = self.fresh()
        res.first_read = res.first_read or first
        emails = [f"{self._next()}@example.com" for _ in range(size)]
        for email in emails:
            res.new_calls.append(self.counted(res.new_lead, lambda e=email: self.post(e)))
        for email in emails:
            res.repeat_calls.append(self.counted(res.repeat, lambda e=email: self.post(e)))
        template = Template.of(*self.fresh())
        for params in [template.fresh(self._next()) for _ in range(size)]:
            res.replay.time(lambda p=params: self.replay(p))
        for _ in range(size):
            res.put.time(self.put)

    def run(self, n: int, batch: int) -> Results:
        done = 0
        while done < n:
            size = min(batch or n, n - done)
            self.batch(size)
            done += size
        return self.results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with emulator_process() as engine:
        os.environ["LEADFLOW_STAGE"] = "bench"
        from app import app  # only now: the environment above is what it must see

        services = bootstrap.build()
        bootstrap.reset(services)
        content = catalog.load(ROOT / "marketing")
        content.raise_for_problems()
        wire = WireLog()
        try:
            with wire.listening(), Client(app, project_dir=str(ROOT)) as client:
                runner = Runner(Backend(engine, services, content), client, wire)
                results = runner.run(args.n, args.batch)
        finally:
            bootstrap.reset(None)
    setting = Setting(
        n=args.n,
        batch=args.batch,
        title=f"Leadflow capture bench: Python {platform.python_version()}, "
        f"the embedded AWS (ministack) in a process of its own at {engine.endpoint}",
        table_prefix=services.settings.table_prefix,
        form_cache_seconds=services.content.cache_seconds,
    )
    return report(results, setting)


if __name__ == "__main__":
    sys.exit(main())
