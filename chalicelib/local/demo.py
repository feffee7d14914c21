"""`make demo`: 60 days of a marketing team's life, played on a fake clock through the real
API and pipeline before the stack starts, so the dashboard shows something real at once.

Each simulated day brings visitors who post the whitepaper or the newsletter form from
several campaigns and channels (ads, Zhihu, the newsletter, partners, search, direct); the
pipeline scores them, runs their journeys and hands the hot ones to sales; twice a day the
pipeline, the tick and the sender catch up, as they do continuously on AWS. Readers open and
click some emails (some opens are Apple's privacy proxy), a few unsubscribe or bounce;
salespeople accept most leads they are handed, open opportunities and win or lose deals, in
dollars and in yuan. It is seeded, so two runs tell the same story.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chalice.test import Client

from chalicelib import bootstrap
from chalicelib.clock import FakeClock
from chalicelib.events import EMAIL_SENT, Event
from chalicelib.local import queue_driver
from chalicelib.local.stream_driver import StreamDriver
from chalicelib.messaging.queues import SENDS, WEBHOOKS
from chalicelib.pipeline import stream
from chalicelib.services import courier, sender
from chalicelib.store.models import EventModel

log = logging.getLogger(__name__)
DAYS = 60
TICK = timedelta(hours=12)
# Where visitors come from: (utm_source, utm_medium, utm_campaign, form), and how often.
SOURCES = [
    (("google", "cpc", "playbook-2026", "whitepaper"), 28),
    (("bing", "cpc", "playbook", "whitepaper"), 6),
    (("zhihu", "social", "newsletter-cn", "newsletter"), 18),
    (("newsletter", "email", "webinar-invite", "whitepaper"), 10),
    (("partner.example", "referral", "partner-q4", "whitepaper"), 8),
    ((None, None, None, "whitepaper"), 14),
    (("baidu", "organic", None, "newsletter"), 8),
]
FIRST = ["Ada", "Grace", "Linus", "Margaret", "Alan", "Barbara", "Ken", "Frances", "Tim", "Radia"]
LAST = [
    "Park",
    "Hopper",
    "Ng",
    "Hamilton",
    "Kay",
    "Liskov",
    "Thompson",
    "Allen",
    "Berners",
    "Perlman",
]
ZH_NAMES = ["王静", "李娜", "张伟", "刘洋", "陈杰", "杨敏", "赵磊", "黄婷"]
TITLES = ["Marketing Manager", "Head of Growth", "VP Marketing", "Analyst", "Founder", "Engineer"]
SIZES = ["1-10", "11-50", "51-200", "201-1000", "1000+"]
COUNTRIES = ["US", "GB", "DE", "CN", "SG", "FR"]
APPLE_PROXY = "Mozilla/5.0"
RECENT = 30  # the newest people, whose mail and leads the demo looks at each day
READER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko)"


@dataclass
class Story:
    """What the demo did, for its last line."""

    contacts: int = 0
    emails: int = 0
    opens: int = 0
    clicks: int = 0
    deals: int = 0
    people: list[str] = field(default_factory=list)
    seen_sends: set[str] = field(default_factory=set)


class Demo:
    def __init__(self, svc: bootstrap.Services, app: Any, clock: FakeClock, seed: int = 2026):
        self.svc = svc
        self.clock = clock
        self.rng = random.Random(seed)
        self.client = Client(app)
        self.key = svc.api_keys.create("demo sales desk", "admin")
        self.story = Story()
        self.stream = StreamDriver(
            EventModel.Meta.table_name,
            lambda batch: stream.handle_batch(batch["Records"], svc.processor),
        )

    # --- the machinery: what the stack's drivers do, on the fake clock ---------------------

    def settle(self) -> None:
        for _ in range(30):
            handled = 0
            while n := self.stream.poll_once():
                handled += n
            report, timers = self.svc.tick()
            sent = self._drain(SENDS, lambda b: sender.handle_batch(b, self.svc.sender))
            self._drain(WEBHOOKS, lambda b: courier.handle_batch(b, self.svc.courier))
            self.story.emails += sent
            if not (handled or report.advanced or timers.fired or sent):
                return

    def _drain(self, queue: str, handle: Callable[[list[dict[str, Any]]], Any]) -> int:
        total = 0
        while n := queue_driver.drain_once(self.svc.queues, queue, handle):
            total += n
        return total

    # --- the people ---------------------------------------------------------------------

    def visitor(self, day: int, n: int) -> None:
        ((source, medium, campaign, form),) = self.rng.choices(
            [s for s, _ in SOURCES], [w for _, w in SOURCES]
        )
        number = len(self.story.people)
        if form == "newsletter":
            body = {
                "email": f"reader{number}@example.cn",
                "name": self.rng.choice(ZH_NAMES),
                "province": self.rng.choice(["上海", "北京", "广东", "浙江"]),
                "consent": True,
            }
        else:
            first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
            body = {
                "email": f"{first}.{last}.{number}@company{number % 37}.example.com".lower(),
                "first_name": first,
                "last_name": last,
                "company": f"Company {number % 37}",
                "job_title": self.rng.choice(TITLES),
                "company_size": self.rng.choice(SIZES),
                "country": self.rng.choice(COUNTRIES),
                "consent": True,
            }
        for key, value in (
            ("utm_source", source),
            ("utm_medium", medium),
            ("utm_campaign", campaign),
        ):
            if value:
                body[key] = value
        answer = self.client.http.post(
            f"/forms/{form}/submissions",
            headers={"Content-Type": "application/json", "Idempotency-Key": f"demo-{day}-{n}"},
            body=json.dumps(body),
        )
        if answer.status_code in (200, 201):
            self.story.people.append(str(body["email"]))
            self.story.contacts += 1

    def returning(self, day: int) -> None:
        """Someone who came before comes back through the newsletter's webinar invitation
        and posts the whitepaper form again: a second touch, for attribution to share."""
        email = self.rng.choice(self.story.people)
        if email.endswith(".cn"):
            return
        body = {
            "email": email,
            "first_name": email.split(".")[0].title(),
            "consent": True,
            "utm_source": "newsletter",
            "utm_medium": "email",
            "utm_campaign": "webinar-invite",
        }
        self.client.http.post(
            "/forms/whitepaper/submissions",
            headers={"Content-Type": "application/json", "Idempotency-Key": f"demo-back-{day}"},
            body=json.dumps(body),
        )

    def readers(self) -> None:
        """Open, click, unsubscribe or bounce on the emails sent since the last look."""
        for email in self.story.people[-RECENT:]:
            cid = self.svc.contacts.find_by_key(f"email:{email}")
            if cid is None:
                continue
            for event in self.svc.events.timeline(cid, limit=15):
                if event.type != EMAIL_SENT or event.event_id in self.story.seen_sends:
                    continue
                self.story.seen_sends.add(event.event_id)
                self._read(cid, event)

    def _read(self, cid: str, sent: Event) -> None:
        signer, roll = self.svc.signer, self.rng.random()
        if roll < 0.01:
            self.svc.feedback.apply(_bounce(str(sent.properties.get("to")), sent))
            return
        if roll < 0.15:
            self.client.http.get(
                f"/t/o/{signer.sign('open', cid, sent.event_id)}",
                headers={"User-Agent": APPLE_PROXY},
            )
        if roll < 0.55:
            self.client.http.get(
                f"/t/o/{signer.sign('open', cid, sent.event_id)}", headers={"User-Agent": READER}
            )
            self.story.opens += 1
            links = sent.properties.get("links") or []
            if links and self.rng.random() < 0.4:
                link = self.rng.randrange(len(links))
                self.client.http.get(f"/t/c/{signer.sign('click', cid, sent.event_id, str(link))}")
                self.story.clicks += 1
        if 0.55 <= roll < 0.57 and not sent.properties.get("internal"):
            self.client.http.post(
                f"/unsubscribe/{signer.sign('unsubscribe', cid, sent.event_id)}",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                body="List-Unsubscribe=One-Click",
            )

    def sales(self) -> None:
        """Salespeople work the leads they were handed."""
        for email in self.story.people[-RECENT * 2 :]:
            cid = self.svc.contacts.find_by_key(f"email:{email}")
            contact = self.svc.contacts.get(cid) if cid else None
            lead = (contact or {}).get("lead") or {}
            status, roll = lead.get("status"), self.rng.random()
            owner = {"owner": lead.get("owner")}
            if status == "assigned" and roll < 0.5:
                self._act(cid, "accept", owner)
            elif status == "accepted" and not lead.get("opportunity") and roll < 0.25:
                if self.rng.random() < 0.5:
                    call = {"kind": "call", "note": "Walked through the playbook"}
                    self._act(cid, "follow-ups", {**owner, **call})
                amount = self.rng.choice([4800, 9600, 24000])
                deal = {"name": "Leadflow Pro", "amount": amount, "currency": "USD"}
                self._act(cid, "opportunity", {**owner, **deal})
            elif status == "accepted" and lead.get("opportunity") and roll < 0.3:
                if self.rng.random() < 0.6:
                    cny = email.endswith(".cn")
                    amount = self.rng.choice([30000, 60000] if cny else [4800, 9600, 24000])
                    won = {"amount": amount, "currency": "CNY" if cny else "USD"}
                    if self._act(cid, "won", {**owner, **won}):
                        self.story.deals += 1
                else:
                    self._act(cid, "lost", {**owner, "reason": "chose a competitor"})

    def _act(self, cid: str | None, action: str, body: dict[str, Any]) -> bool:
        answer = self.client.http.post(
            f"/leads/{cid}/{action}",
            headers={"Content-Type": "application/json", "X-Api-Key": self.key},
            body=json.dumps(body),
        )
        if answer.status_code >= 400:
            log.info("demo: %s %s answered %s", action, cid, answer.body[:200])
        return answer.status_code < 400

    # --- the story ----------------------------------------------------------------------

    def play(self, days: int = DAYS, progress: Callable[[int, Story], None] | None = None) -> Story:
        for day in range(days):
            arrivals = self.rng.choice([0, 1, 1, 1, 2]) + (1 if day % 7 == 1 else 0)
            times = sorted(self.rng.uniform(7, 22) for _ in range(arrivals))
            start = self.clock.now()
            for n, hour in enumerate(times):
                self.clock.set(start + timedelta(hours=hour))
                self.visitor(day, n)
            if self.story.people and self.rng.random() < 0.2:
                self.returning(day)
            for half in (1, 2):
                self.clock.set(start + half * TICK)
                self.settle()
            self.readers()
            if day % 2:  # sales work their leads every other day
                self.sales()
            self.settle()
            if progress and (day + 1) % 10 == 0:
                progress(day + 1, self.story)
        return self.story


def _bounce(address: str, sent: Event) -> dict[str, Any]:
    return {
        "eventType": "Bounce",
        "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": address}]},
        "mail": {
            "messageId": f"demo-{sent.event_id}",
            "tags": {"template": [str(sent.properties.get("template"))]},
        },
    }


def play(
    app: Any,
    now: datetime,
    days: int = DAYS,
    progress: Callable[[int, Story], None] | None = None,
) -> Story:
    """Play `days` ending now on the stack's engine, with services of the demo's own clock;
    the stack's services are put back after."""
    clock = FakeClock(
        (now - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    )
    before = bootstrap.services()
    svc = bootstrap.build(before.settings, clock, sleep=lambda s: clock.advance(seconds=s))
    bootstrap.reset(svc)
    try:
        story = Demo(svc, app, clock).play(days, progress)
    finally:
        bootstrap.reset(before)
    return story
