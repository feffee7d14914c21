"""An empty embedded AWS made ready for Leadflow: tables, queues, content, verified senders.

On AWS, infra/ creates the tables and queues and SES identities are verified once by hand;
locally the stack, the tests and the benches start from an emulator that has none of them.
"""

from __future__ import annotations

from chalicelib.bootstrap import Services
from chalicelib.content.catalog import Catalog
from chalicelib.journeys.language import SendEmailStep
from chalicelib.messaging.mime import domain_of
from chalicelib.services import publisher
from chalicelib.services.publisher import PublishReport
from chalicelib.store import tables


def sender_domains(content: Catalog) -> list[str]:
    """Every domain the content sends from: the brand's address and each step's own."""
    senders = {str(content.emails.brand.get("from") or "")}
    for journey in content.journeys.values():
        senders |= {
            step.send_email.from_ or "" for step in journey.steps if isinstance(step, SendEmailStep)
        }
    return sorted({domain_of(s) for s in senders if s})


def provision(svc: Services, content: Catalog) -> PublishReport:
    """Create what is missing, publish `content`, and verify the domains it sends from (the
    emulator, like SES, refuses an unverified sender). Safe to run again on a kept state."""
    tables.create_all()
    svc.queues.create_all()
    report = publisher.publish(content, svc.content)
    if report.segments:  # changed while the stack was stopped
        svc.segmenter.backfill(report.segments, svc.contacts.all_ids)
    for domain in sender_domains(content):
        svc.ses.verify_domain(domain)
    svc.ses.ensure_configuration_set()
    return report
