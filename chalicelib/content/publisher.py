"""Publishing: validated content becomes a new stored version; unchanged files are no-ops."""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.content.catalog import Catalog
from chalicelib.store.content import ContentStore


@dataclass
class PublishReport:
    published: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def publish(catalog: Catalog, store: ContentStore) -> PublishReport:
    """Publish everything in a catalog that validated; refuse a catalog with problems."""
    catalog.raise_for_problems()
    report = PublishReport()
    for form_id, form in sorted(catalog.forms.items()):
        version = store.publish("form", form_id, form.to_body())
        name = f"form {form_id}" + (f" v{version}" if version else "")
        (report.published if version else report.unchanged).append(name)
    return report
