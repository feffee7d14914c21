"""The one place that wires settings, clock, stores, queues, journeys and the pipeline."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.clock import Clock, SystemClock
from chalicelib.config import Settings
from chalicelib.journeys.library import JourneyLibrary
from chalicelib.journeys.runner import JourneyRunner
from chalicelib.messaging.outbox import Outbox
from chalicelib.messaging.queues import Queues
from chalicelib.pipeline import handlers
from chalicelib.pipeline.processor import Processor
from chalicelib.pipeline.registry import Registry
from chalicelib.store import tables
from chalicelib.store.api_keys import ApiKeyStore
from chalicelib.store.contacts import ContactStore
from chalicelib.store.content import ContentStore
from chalicelib.store.enrollments import EnrollmentStore
from chalicelib.store.events import EventStore


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


def build(
    settings: Settings | None = None, clock: Clock | None = None, registry: Registry | None = None
) -> Services:
    settings = settings or Settings.from_env()
    clock = clock or SystemClock()
    tables.bind(settings)
    contacts = ContactStore(settings.pending_shards)
    events = EventStore(settings.pending_shards)
    content = ContentStore(clock)
    enrollments = EnrollmentStore(settings.due_shards, settings.pending_shards)
    queues = Queues(settings)
    journeys = JourneyRunner(
        JourneyLibrary(content), enrollments, contacts, clock, queues, settings.tick_inline_limit
    )
    if registry is None:
        registry = handlers.registry(journeys, Outbox(queues))
    processor = Processor(registry, events, contacts, clock)
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
    )


_services: Services | None = None


def services() -> Services:
    """The process-wide services, built on first use (after the environment is set)."""
    global _services
    if _services is None:
        _services = build()
    return _services


def reset(new: Services | None = None) -> None:
    global _services
    _services = new
