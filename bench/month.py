"""A month of the reference scenario, scaled down, played through the real code on a fake clock.

The reference (bench/cost.py): 100,000 contacts, 10,000 new leads a month of whom a fifth are
hot (2,000 hand-offs), 1,000,000 tracked events, about 400,000 emails (each new lead's
journeys plus a weekly newsletter to every subscriber), 20 segments. At `contacts` = C the
month is the same story at C / 100,000: the list is posted through the newsletter and
whitepaper forms first (not counted), then for 30 days people arrive, browse, read, click,
unsubscribe and bounce, salespeople accept most hot leads and let the rest lapse back to the
pool, and twice a day the pipeline, the tick and the queues catch up, as they do continuously
on AWS. Every call goes through `bench.meter.Meter`, charged to whoever made it, and every
Lambda-shaped piece of work (an API request, a stream batch, a queue batch, a tick) is timed.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from chalice.test import Client

from bench.meter import Meter, Request
from chalicelib import bootstrap
from chalicelib.clock import FakeClock
from chalicelib.events import EMAIL_SENT, Event
from chalicelib.local import queue_driver
from chalicelib.local.stream_driver import StreamDriver
from chalicelib.messaging.queues import SENDS, WEBHOOKS
from chalicelib.pipeline import stream, sweeper
from chalicelib.services import courier, sender
from chalicelib.store import event_log as event_rows
from chalicelib.store.models import EventModel

REFERENCE_CONTACTS = 100_000
NEW_LEADS = 0.10  # of the list, a month
HOT = 0.20  # of new leads
TRACKED_PER_CONTACT = 10.0  # 1,000,000 a month for 100,000
KNOWN_VISITORS = 0.7  # of tracked events; the rest are anonymous visitors
OPEN, APPLE, CLICK, BOUNCE, UNSUBSCRIBE = 0.40, 0.25, 0.10, 0.01, 0.003
ACCEPT = 0.7  # of hand-offs; the rest lapse past the SLA and go back to the pool
NEWSLETTER_DAYS = (2, 9, 16, 23)
EXTRA_SEGMENTS = {  # with the six in marketing/segments/, the scenario's 20
    **{
        f"readers-{n}d": {"event": ["email_opened", "email_clicked"], "within": f"{n}d"}
        for n in (7, 14, 60, 90)
    },
    **{
        f"pricing-{n}d": {"event": "page_viewed", "where": {"url": "/pricing"}, "within": f"{n}d"}
        for n in (7, 30)
    },
    **{
        f"browsers-{n}": {"event": "page_viewed", "min_count": n, "within": "30d"}
        for n in (3, 5, 10)
    },
    **{f"reached-{stage}": {"stage_reached": stage} for stage in ("lead", "mql", "sql")},
    **{f"quiet-{n}d": {"inactive_for": f"{n}d"} for n in (30, 60)},
}
PAGES = ["/", "/blog/journeys-as-code", "/blog/speed-to-lead", "/docs", "/pricing"]
START = datetime(2026, 11, 1, tzinfo=UTC)
DAYS = 30


@dataclass
class Volumes:
    """What the month did, counted as it happened (the units everything is scaled by)."""

    new_leads: int = 0
    hot_leads: int = 0
    tracked: int = 0
    emails: int = 0
    notifications: int = 0  # SES delivery and bounce notifications posted back
    api_requests: Counter[str] = field(default_factory=Counter)
    ticks: int = 0
    events: Counter[str] = field(default_factory=Counter)
    emails_by: Counter[str] = field(default_factory=Counter)  # journey or broadcast


def marketing_of_the_scenario(root: Path, into: Path) -> tuple[Path, Path]:
    """marketing/ as shipped, plus the scenario's extra segments and weekly newsletters."""
    marketing = into / "marketing"
    shutil.copytree(root / "marketing", marketing)
    for name, when in EXTRA_SEGMENTS.items():
        (marketing / "segments" / f"{name}.yaml").write_text(
            json.dumps({"name": name, "when": when}), encoding="utf-8"
        )
    for n, day in enumerate(NEWSLETTER_DAYS, 1):
        issue = {
            "name": f"Weekly newsletter #{n}",
            "audience": {"segment": "subscribers"},
            "email": {
                "template": "webinar-invite",
                "subject": f"This week in Leadflow #{n}",
                "topic": "marketing",
            },
            "send_at": (START + timedelta(days=day, hours=9)).strftime("%Y-%m-%dT%H:%M"),
            "timezone": "UTC",
        }
        (marketing / "broadcasts" / f"weekly-{n}.yaml").write_text(
            json.dumps(issue), encoding="utf-8"
        )
    return marketing, root / "templates"


class Month:
    """The drivers of the local stack, run by hand on the fake clock, each under its meter
    name and timed as the Lambda invocation it would be on AWS."""

    def __init__(
        self,
        svc: bootstrap.Services,
        app: Any,
        clock: FakeClock,
        meter: Meter,
        contacts: int,
        seed: int = 2026,
    ) -> None:
        self.svc, self.clock, self.meter = svc, clock, meter
        self.rng = random.Random(seed)
        self.client = Client(app)
        self.contacts = contacts
        self.key = svc.api_keys.create("bench sales desk", "admin")
        self.volumes = Volumes()
        self.probing = False  # a probe's requests are metered, not added to the month
        self.durations: dict[str, list[float]] = defaultdict(list)
        self.people: list[tuple[str, str]] = []  # (email, visitor id)
        self.hot: list[str] = []
        self.unread: list[Event] = []
        # One event a batch, as Lambda's one-second window holds at this traffic: the batch's
        # marks and counts (pipeline/marks.py) are then priced as AWS would write them.
        self.stream = StreamDriver(EventModel.Meta.table_name, self._pipeline, batch_size=1)
        self._process = svc.processor.process
        svc.processor.process = self._processed  # type: ignore[method-assign]
        rollup = svc.rollup.run_if_due
        svc.rollup.run_if_due = lambda now: self._as("rollup", lambda: rollup(now))  # type: ignore[method-assign]

    # --- metering ---------------------------------------------------------------------------

    @property
    def tallying(self) -> bool:
        """Whether what happens now is the month's: volumes and Lambda time are kept."""
        return self.meter.counting and not self.probing

    def probe(self, work: Callable[[], None]) -> list[Request]:
        """Every request `work` and all it causes make, the pipeline and queues settled and
        the emails read, kept apart from the month: the cost of one unit, end to end."""
        with self.meter.paused():  # what falls due by the probe's moment is not its cost
            self.settle()
            self.read()
            self.settle()
        self.probing = True
        mark = self.meter.mark()
        try:
            work()
            self.settle()
            self.read()
            self.settle()
        finally:
            self.probing = False
        return self.meter.since(mark)

    def probe_leads(self, n: int) -> list[Request]:
        """`n` new leads at noon on a weekday, every fifth hot, as far as their first emails
        and hand-offs go in a day."""
        self.clock.set(START + timedelta(days=DAYS + 2, hours=12))
        return self.probe(lambda: [self.post(hot=k % 5 == 4) for k in range(n)])

    def probe_tracked(self, n: int) -> list[Request]:
        """`n` page views by known visitors, with the scores, segments and rules they move."""
        self.clock.set(START + timedelta(days=DAYS + 3, hours=12))
        return self.probe(lambda: [self.browse(known=True) for _ in range(n)])

    def _as(self, driver: str, work: Callable[[], Any]) -> Any:
        with self.meter.acting(driver):
            return work()

    @contextmanager
    def _invocation(self, function: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            if self.tallying:
                self.durations[function].append(time.perf_counter() - began)

    def _processed(self, item: EventModel, marks: Any = None) -> Any:
        if self.tallying:
            self.volumes.events[item.type] += 1
        if item.type == EMAIL_SENT and self.meter.counting:
            sent = event_rows.from_model(item)
            self.unread.append(sent)
            if self.tallying:
                self.volumes.emails += 1
                props = sent.properties
                by = props.get("journey") or props.get("broadcast") or "other"
                self.volumes.emails_by[str(by)] += 1
        with self.meter.acting(f"pipeline {item.type}"):
            return self._process(item, marks)

    def _pipeline(self, batch: dict[str, Any]) -> Any:
        """One invocation of one event: what the batch writes after its handlers (the event's
        mark and counts, pipeline/marks.py) is that event's work too."""
        kinds = [
            r["dynamodb"]["NewImage"]["type"]["S"]
            for r in batch["Records"]
            if r.get("eventName") == "INSERT"
        ]
        if not kinds:  # the marks' MODIFY records: filtered out on AWS, never an invocation
            return stream.handle_batch(batch["Records"], self.svc.processor)
        with self._invocation("pipeline"), self.meter.acting(f"pipeline {kinds[0]}"):
            return stream.handle_batch(batch["Records"], self.svc.processor)

    def request(
        self, method: str, path: str, route: str, function: str = "api", **kwargs: Any
    ) -> Any:
        """One API Gateway request and one invocation of the API function."""
        if self.tallying and function == "api":
            self.volumes.api_requests[route] += 1
        with self.meter.acting(f"api {route}"), self._invocation(function):
            return getattr(self.client.http, method)(path, **kwargs)

    # --- what the stack's drivers do --------------------------------------------------------

    def settle(self) -> None:
        for _ in range(30):
            handled = self._as("stream poller", self._poll)
            with self.meter.acting("tick"), self._invocation("tick"):
                report, timers = self.svc.tick()
            if self.tallying:
                self.volumes.ticks += 1
            sent = self._drain(SENDS, "sender", lambda b: sender.handle_batch(b, self.svc.sender))
            posted = self._drain(
                WEBHOOKS, "webhooks", lambda b: courier.handle_batch(b, self.svc.courier)
            )
            if not (handled or report.advanced or timers.fired or sent or posted):
                return

    def _poll(self) -> int:
        total = 0
        while n := self.stream.poll_once():
            total += n
        return total

    def _drain(self, queue: str, function: str, handle: Callable[[Any], Any]) -> int:
        def timed(batch: Any) -> Any:
            with self.meter.acting(function), self._invocation(function):
                return handle(batch)

        total = 0
        with self.meter.acting(f"sqs poller {queue}"):
            while n := queue_driver.drain_once(self.svc.queues, queue, timed):
                total += n
        return total

    def idle_tick(self) -> None:
        """One scheduled tick and one sweep with nothing due: what every minute costs."""
        with self.meter.acting("tick idle"), self._invocation("tick idle"):
            self.svc.tick()
        grace = timedelta(seconds=self.svc.settings.sweep_grace_seconds)
        with self.meter.acting("sweeper idle"), self._invocation("sweeper idle"):
            sweeper.sweep(self.svc.processor, grace)

    # --- the people -------------------------------------------------------------------------

    def post(self, hot: bool = False, newsletter: bool = False) -> None:
        n = len(self.people)
        visitor = f"v-{n:07d}-{self.rng.randrange(16**6):06x}"
        if newsletter:
            form = "newsletter"
            body: dict[str, Any] = {
                "email": f"reader{n}@example.cn",
                "name": "王静",
                "province": "上海",
                "consent": True,
            }
        else:
            form = "whitepaper"
            body = {
                "email": f"person{n}@company{n % 97}.example.com",
                "first_name": "Ada",
                "last_name": "Park",
                "company": f"Company {n % 97}",
                "job_title": "VP Marketing" if hot else "Analyst",
                "company_size": "1000+" if hot else "11-50",
                "country": "US",
                "consent": True,
                "utm_source": "google",
                "utm_medium": "cpc",
                "utm_campaign": "playbook-2026",
            }
        body["visitor_id"] = visitor
        answer = self.request(
            "post",
            f"/forms/{form}/submissions",
            "POST /forms/{form_id}/submissions",
            headers={"Content-Type": "application/json"},
            body=json.dumps(body),
        )
        if answer.status_code in (200, 201):
            self.people.append((body["email"], visitor))
            if hot:
                self.hot.append(body["email"])

    def browse(self, known: bool | None = None) -> None:
        if known is None:
            known = bool(self.people) and self.rng.random() < KNOWN_VISITORS
        visitor = (
            self.rng.choice(self.people)[1] if known else f"anon-{self.rng.randrange(16**8):08x}"
        )
        url = self.rng.choice(PAGES)
        answer = self.request(
            "post",
            "/events",
            "POST /events",
            headers={"Content-Type": "application/json"},
            body=json.dumps({"type": "page_viewed", "visitor_id": visitor, "url": url}),
        )
        if answer.status_code < 300 and self.tallying:
            self.volumes.tracked += 1

    def read(self) -> None:
        """SES reports each delivery (or bounce); readers open, click and unsubscribe."""
        signer = self.svc.signer
        for sent in self.unread:
            props = sent.properties or {}
            cid, event_id = sent.contact_id, sent.event_id
            roll = self.rng.random()
            self._notify(props, bounced=roll < BOUNCE)
            if roll < BOUNCE:
                continue
            if self.rng.random() < OPEN:
                agent = "Mozilla/5.0" if self.rng.random() < APPLE else "Mozilla/5.0 (Macintosh)"
                self.request(
                    "get",
                    f"/t/o/{signer.sign('open', cid, event_id)}",
                    "GET /t/o",
                    headers={"User-Agent": agent},
                )
                links = props.get("links") or []
                if links and self.rng.random() < CLICK / OPEN:
                    token = signer.sign("click", cid, event_id, "0")
                    self.request("get", f"/t/c/{token}", "GET /t/c")
            if self.rng.random() < UNSUBSCRIBE and not props.get("internal"):
                self.request(
                    "post",
                    f"/unsubscribe/{signer.sign('unsubscribe', cid, event_id)}",
                    "POST /unsubscribe",
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                    body="List-Unsubscribe=One-Click",
                )
        self.unread.clear()

    def _notify(self, props: dict[str, Any], bounced: bool) -> None:
        """What SNS posts to /ses/notifications (verified there, then this same call)."""
        tags = {
            name: [str(props[name])]
            for name in ("template", "journey", "step", "broadcast")
            if props.get(name)
        }
        mail = {"messageId": str(props.get("message_id", "")), "tags": tags}
        address = str(props.get("to", ""))
        if bounced:
            note = {
                "eventType": "Bounce",
                "mail": mail,
                "bounce": {
                    "bounceType": "Permanent",
                    "bouncedRecipients": [{"emailAddress": address}],
                },
            }
        else:
            note = {"eventType": "Delivery", "mail": mail, "delivery": {"recipients": [address]}}
        if self.tallying:
            self.volumes.notifications += 1
            self.volumes.api_requests["POST /ses/notifications"] += 1
        with self.meter.acting("api POST /ses/notifications"), self._invocation("api"):
            self.svc.feedback.apply(note)

    def sales(self) -> None:
        """Salespeople accept most of the leads they were handed; the rest lapse."""
        waiting = []
        for email in self.hot:
            with self.meter.paused():  # the bench looking, not the product working
                cid = self.svc.contacts.find_by_key(f"email:{email}")
                lead = ((self.svc.contacts.get(cid) or {}).get("lead") or {}) if cid else {}
            if lead.get("status") == "assigned":
                waiting.append((cid, lead.get("owner")))
        for cid, owner in waiting:
            if self.rng.random() < ACCEPT:
                self.request(
                    "post",
                    f"/leads/{cid}/accept",
                    "POST /leads/{id}/accept",
                    headers={"Content-Type": "application/json", "X-Api-Key": self.key},
                    body=json.dumps({"owner": owner}),
                )

    def log_in(self) -> str:
        answer = self.client.http.post(
            "/dashboard/login",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            body=urlencode({"key": self.key, "next": "/dashboard"}),
        )
        return str(answer.headers["Set-Cookie"]).split(";", 1)[0]

    # --- the story --------------------------------------------------------------------------

    def stock(self) -> None:
        """The list the team arrives with, posted over the 20 days that start 200 days before
        the month, their journeys run to the month's eve (none of it counted)."""
        with self.meter.paused():
            first = START - timedelta(days=200)
            for n in range(self.contacts):
                self.clock.set(first + timedelta(days=20 * n / self.contacts))
                self.post(newsletter=n % 3 == 0)
                if n % 25 == 24:
                    self.settle()
            for day in range(-180, 0, 8):  # at noon on varied weekdays: out of quiet hours
                self.clock.set(START + timedelta(days=day, hours=12))
                self.settle()
            self.unread.clear()
            self.hot.clear()
            for n, _ in enumerate(NEWSLETTER_DAYS, 1):  # the marketer schedules the issues
                self.svc.broadcasts.schedule(f"weekly-{n}")

    def play(self, progress: Callable[[int], None] | None = None) -> Volumes:
        scale = self.contacts / REFERENCE_CONTACTS
        leads = _spread(NEW_LEADS * REFERENCE_CONTACTS * scale)
        tracked = _spread(TRACKED_PER_CONTACT * REFERENCE_CONTACTS * scale)
        hot_every = round(1 / HOT)
        for day in range(DAYS):
            midnight = START + timedelta(days=day)
            for n in range(leads(day)):
                self.clock.set(midnight + timedelta(hours=8, minutes=n))
                self.volumes.new_leads += 1
                hot = self.volumes.new_leads % hot_every == 0
                self.volumes.hot_leads += hot
                self.post(hot=hot, newsletter=not hot and n % 4 == 3)
            for n in range(tracked(day)):
                self.clock.set(midnight + timedelta(hours=9, seconds=n))
                self.browse()
            for half in (12, 20):
                self.clock.set(midnight + timedelta(hours=half))
                self.settle()
                self.read()
                self.sales()
            self.settle()
            if progress:
                progress(day + 1)
        return self.volumes


def _spread(total: float) -> Callable[[int], int]:
    """Whole numbers per day that add up to `total` over the month, however small."""
    return lambda day: int(total * (day + 1) / DAYS) - int(total * day / DAYS)
