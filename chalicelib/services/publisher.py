"""Publishing: validated content becomes a new stored version; unchanged files are no-ops."""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.content.catalog import LEAD_FILES, Catalog
from chalicelib.leads import downloads
from chalicelib.store import (
    broadcast_library,
    journey_library,
    lead_library,
    segment_library,
    template_library,
)
from chalicelib.store.content import ContentStore


@dataclass
class PublishReport:
    published: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # Segments stored as a new version: each must be backfilled (Segmenter.backfill).
    segments: dict[str, int] = field(default_factory=dict)


def _publish(
    store: ContentStore, kind: str, content_id: str, body: dict, report: PublishReport
) -> int:
    version = store.publish(kind, content_id, body)
    if version:
        removed = "" if body else " (removed)"
        report.published.append(f"{kind} {content_id} v{version}{removed}")
        return version
    report.unchanged.append(f"{kind} {content_id}")
    current = store.current_version(kind, content_id)
    assert current is not None
    return current


def publish(catalog: Catalog, store: ContentStore) -> PublishReport:
    """Publish everything in a catalog that validated; refuse a catalog with problems.

    Files in assets/ are published before the forms that offer them, templates before the
    journeys that send them, and journeys before the index that makes them live, so nothing
    finds a version that is not stored yet; in-flight enrollments keep reading their own
    versions.
    """
    catalog.raise_for_problems()
    report = PublishReport()
    for name, asset in sorted(catalog.assets.items()):
        store.store_bytes(asset.sha256, asset.data)
        _publish(store, downloads.KIND, name, asset.to_body(), report)
    for form_id, form in sorted(catalog.forms.items()):
        _publish(store, "form", form_id, form.to_body(), report)
    for name, email in sorted(catalog.emails.templates.items()):
        _publish(store, template_library.KIND, name, email.to_body(), report)
    store.publish(*template_library.SETTINGS, catalog.emails.settings(catalog.consent_topics))
    for name in LEAD_FILES:
        body = catalog.lead_bodies.get(name, {})
        if store.current_version(lead_library.KIND, name) is not None or body:
            _publish(store, lead_library.KIND, name, body, report)
    segments = {}
    for segment_id, segment in sorted(catalog.segments.items()):
        before = store.current_version(segment_library.KIND, segment_id)
        segments[segment_id] = _publish(
            store, segment_library.KIND, segment_id, segment.to_body(), report
        )
        if segments[segment_id] != before:
            report.segments[segment_id] = segments[segment_id]
    store.publish(*segment_library.INDEX, segments)  # before the journeys that trigger on them
    live = {
        journey_id: _publish(store, journey_library.KIND, journey_id, body, report)
        for journey_id, body in sorted(catalog.journey_bodies.items())
    }
    store.publish(*journey_library.INDEX, live)
    broadcasts = {
        broadcast_id: _publish(store, broadcast_library.KIND, broadcast_id, b.to_body(), report)
        for broadcast_id, b in sorted(catalog.broadcasts.items())
    }
    store.publish(*broadcast_library.INDEX, broadcasts)
    return report
