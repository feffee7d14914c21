"""The one place that wires settings, clock, stores, queues, journeys and the pipeline."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from chalicelib.clock import Clock, SystemClock
from chalicelib.config import Settings
from chalicelib.messaging.captcha import CaptchaVerifier
from chalicelib.messaging.http_post import PinnedPoster, Poster
from chalicelib.messaging.mailbox import KeepingTransport, Mailbox
from chalicelib.messaging.queues import Queues
from chalicelib.messaging.ratelimit import RateLimiter
from chalicelib.messaging.sns import Verifier
from chalicelib.messaging.tokens import Signer
from chalicelib.messaging.transport import SesTransport, Transport
from chalicelib.pipeline.processor import Processor
from chalicelib.pipeline.registry import Registry
from chalicelib.services import handlers
from chalicelib.services.bookkeeper import Bookkeeper
from chalicelib.services.broadcast_desk import BroadcastDesk
from chalicelib.services.broadcast_stats import BroadcastStats
from chalicelib.services.broadcaster import Broadcaster
from chalicelib.services.consents import ConsentDesk
from chalicelib.services.courier import Courier
from chalicelib.services.directory import Directory
from chalicelib.services.dispatcher import Dispatcher
from chalicelib.services.duplicates import DuplicateFinder
from chalicelib.services.engagement import Engagement
from chalicelib.services.exporter import Exporter
from chalicelib.services.feedback import Feedback
from chalicelib.services.import_desk import ImportDesk
from chalicelib.services.importer import Importer
from chalicelib.services.journey_runner import JourneyRunner, TickReport
from chalicelib.services.merger import Merger
from chalicelib.services.outbox import Outbox
from chalicelib.services.preferences import Preferences
from chalicelib.services.privacy import PrivacyDesk
from chalicelib.services.reports import Reports
from chalicelib.services.retention import Retention
from chalicelib.services.rfm import RfmKeeper
from chalicelib.services.rollup import Rollup
from chalicelib.services.rule_runner import RuleRunner
from chalicelib.services.sales import SalesDesk
from chalicelib.services.scorekeeper import Scorekeeper
from chalicelib.services.segmenter import Segmenter
from chalicelib.services.sender import Sender
from chalicelib.services.steward import Steward
from chalicelib.services.stitch import Stitcher
from chalicelib.store import secrets, tables
from chalicelib.store.api_keys import ApiKeyStore
from chalicelib.store.audit import AuditLog
from chalicelib.store.broadcast_library import BroadcastLibrary
from chalicelib.store.broadcasts import BroadcastStore
from chalicelib.store.contacts import ContactStore
from chalicelib.store.content import ContentStore
from chalicelib.store.counters import Counters
from chalicelib.store.enrollments import EnrollmentStore
from chalicelib.store.event_log import EventStore
from chalicelib.store.import_jobs import ImportJobs
from chalicelib.store.imports import ImportStore
from chalicelib.store.journey_library import JourneyLibrary
from chalicelib.store.lead_library import LeadLibrary
from chalicelib.store.ledger import Ledger
from chalicelib.store.limits import Limiter
from chalicelib.store.merges import MergeStore
from chalicelib.store.personal_data import PersonalData
from chalicelib.store.privacy import PrivacyRequests
from chalicelib.store.segment_library import SegmentLibrary
from chalicelib.store.segments import SegmentMembers
from chalicelib.store.stats import StatStore
from chalicelib.store.subscriptions import SubscriptionStore
from chalicelib.store.template_library import TemplateLibrary
from chalicelib.store.timers import FireReport, TimerStore
from chalicelib.store.writer import ContactWriter


@dataclass
class Services:
    settings: Settings
    clock: Clock
    contacts: ContactStore
    events: EventStore
    content: ContentStore
    api_keys: ApiKeyStore
    enrollments: EnrollmentStore
    queues: Queues
    journeys: JourneyRunner
    processor: Processor
    subscriptions: SubscriptionStore
    templates: TemplateLibrary
    ses: SesTransport
    mailbox: Mailbox | None
    sender: Sender
    engagement: Engagement
    preferences: Preferences
    feedback: Feedback
    sns: Verifier
    timers: TimerStore
    leads: LeadLibrary
    sales: SalesDesk
    dispatcher: Dispatcher
    courier: Courier
    segments: SegmentLibrary
    segmenter: Segmenter
    members: SegmentMembers
    rfm: RfmKeeper
    broadcasts: BroadcastDesk
    broadcaster: Broadcaster
    importer: Importer
    exporter: Exporter
    directory: Directory
    merger: Merger
    duplicates: DuplicateFinder
    imports: ImportDesk
    reports: Reports
    signer: Signer
    rollup: Rollup
    limiter: Limiter
    audit: AuditLog
    privacy: PrivacyDesk
    captcha: CaptchaVerifier
    consents: ConsentDesk

    def tick(self) -> tuple[TickReport, FireReport]:
        """What the scheduled tick does: advance due enrollments, fire due contact timers,
        run due broadcasts, and once a day recompute RFM over the buyers and roll up the report
        counters of the days before."""
        report = self.journeys.tick(), self.timers.fire_due(self.clock.now())
        self.broadcaster.run_due()
        self.rfm.recompute_if_due(self.clock.now())
        self.rollup.run_if_due(self.clock.now())
        return report


def build(
    settings: Settings | None = None,
    clock: Clock | None = None,
    registry: Registry | None = None,
    sleep: Callable[[float], None] = time.sleep,
    transport: Transport | None = None,
    poster: Poster | None = None,
) -> Services:
    """Wire everything; tests pass a fake clock with its own `sleep`, or a transport."""
    settings = settings or Settings.from_env()
    clock = clock or SystemClock()
    tables.bind(settings)
    contacts = ContactStore(settings.pending_shards, settings.pepper.encode())
    events = EventStore(settings.pending_shards)
    content = ContentStore(clock)
    enrollments = EnrollmentStore(settings.due_shards, settings.pending_shards)
    queues = Queues(settings)
    journeys = JourneyRunner(
        JourneyLibrary(content), enrollments, contacts, clock, queues, settings.tick_inline_limit
    )
    signer = Signer(settings.signing_secret, settings.signing_secret_previous)
    leads = LeadLibrary(content)
    writer = ContactWriter(contacts, clock, settings.pending_shards, settings.due_shards)
    dispatcher = Dispatcher(
        library=leads,
        contacts=contacts,
        events=events,
        counters=Counters(),
        clock=clock,
        signer=signer,
        public_url=settings.public_url,
        event_shards=settings.pending_shards,
        timer_shards=settings.due_shards,
    )
    segments = SegmentLibrary(content)
    segmenter = Segmenter(segments, writer)
    members = SegmentMembers(Counters())
    rfm = RfmKeeper(leads, members, writer, Counters())
    subscriptions = SubscriptionStore(settings.pending_shards)
    templates = TemplateLibrary(content)
    broadcast_runs = BroadcastStore(settings.pending_shards)
    broadcast_library = BroadcastLibrary(content)
    broadcaster = Broadcaster(
        library=broadcast_library,
        store=broadcast_runs,
        members=members,
        contacts=contacts,
        subscriptions=subscriptions,
        templates=templates,
        queues=queues,
        clock=clock,
        backlog=settings.broadcast_backlog,
    )
    timers = TimerStore(settings.due_shards, settings.pending_shards)
    stats = StatStore()
    privacy_requests = PrivacyRequests(settings.pepper.encode())
    mailbox = Mailbox(Path(settings.outbox_dir)) if settings.outbox_dir else None
    privacy = PrivacyDesk(
        contacts, PersonalData(), privacy_requests, segments, mailbox, clock, writer
    )
    retention = None
    if settings.retain_inactive_days > 0:
        period = timedelta(days=settings.retain_inactive_days)
        retention = Retention(period, events, timers, privacy)
    importer = Importer(
        ImportStore(settings.pending_shards), contacts, clock, privacy_requests.marks
    )
    if registry is None:
        registry = handlers.registry(
            Stitcher(events),
            journeys,
            Outbox(queues),
            Scorekeeper(leads, writer),
            RuleRunner(leads, writer),
            dispatcher,
            segmenter,
            rfm,
            BroadcastStats(broadcast_runs),
            Steward(leads, writer, events, timers),
            Bookkeeper(stats, contacts, events),
            retention,
        )
    processor = Processor(registry, events, contacts, clock)
    ses = SesTransport(settings)
    if transport is None:
        transport = KeepingTransport(ses, mailbox) if mailbox else ses
    sender = Sender(
        clock=clock,
        sleep=sleep,
        contacts=contacts,
        templates=templates,
        subscriptions=subscriptions,
        ledger=Ledger(settings.pending_shards),
        transport=transport,
        signer=signer,
        limiter=RateLimiter(settings.max_send_rate, clock, sleep),
        public_url=settings.public_url,
        cancelled=broadcast_runs.cancelled,
    )
    return Services(
        settings,
        clock,
        contacts,
        events,
        content,
        ApiKeyStore(clock),
        enrollments,
        queues,
        journeys,
        processor,
        subscriptions,
        templates,
        ses,
        mailbox,
        sender,
        Engagement(signer, events, clock),
        Preferences(signer, contacts, subscriptions, templates, clock),
        Feedback(contacts, events, subscriptions, clock),
        Verifier(settings.feedback_topics),
        timers,
        leads,
        SalesDesk(leads, writer, dispatcher),
        dispatcher,
        Courier(
            clock=clock,
            ledger=Ledger(settings.pending_shards),
            queues=queues,
            poster=poster or PinnedPoster(),
            allow_private=settings.allow_private_webhooks,
            max_delay_seconds=settings.webhook_max_delay_seconds,
        ),
        segments,
        segmenter,
        members,
        rfm,
        BroadcastDesk(
            library=broadcast_library,
            store=broadcast_runs,
            members=members,
            segments=segments,
            templates=templates,
            broadcaster=broadcaster,
            clock=clock,
        ),
        broadcaster,
        importer,
        Exporter(contacts, members),
        Directory(contacts, members),
        Merger(contacts, MergeStore(settings.pending_shards), segments, clock),
        DuplicateFinder(contacts),
        ImportDesk(content, ImportJobs(), importer, queues, clock),
        Reports(stats, leads, journeys.library, clock),
        signer,
        Rollup(stats),
        Limiter(settings.pepper, settings.limit_exempt),
        AuditLog(clock),
        privacy,
        CaptchaVerifier(settings.captcha_secret, settings.captcha_verify_url),
        ConsentDesk(subscriptions, templates, clock),
    )


_services: Services | None = None


def services() -> Services:
    """The process-wide services, built on first use (after the environment is set)."""
    global _services
    if _services is None:
        secrets.load(os.environ)
        _services = build()
    return _services


def reset(new: Services | None = None) -> None:
    global _services
    _services = new
