"""One person posting many times at once: every answered submission is recorded."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from chalicelib.leads.capture import RequestMeta, raw_fields
from chalicelib.services.submissions import load_form, submit
from chalicelib.store.models import ContactModel, EventModel
from tests.builders import lead

POSTS = 200
CONCURRENCY = 8


def test_two_hundred_racing_posts_of_one_email_lose_nothing(svc, clock):
    form = load_form(svc.content, "whitepaper")

    def post(n: int):
        fields = raw_fields(lead(company=f"Company {n}", utm_source=f"source-{n}"))
        return submit(
            form, fields, RequestMeta(), clock=clock, contacts=svc.contacts, public_url="x"
        )

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        accepted = list(pool.map(post, range(POSTS)))

    (contact,) = ContactModel.scan()
    events = list(EventModel.query(contact.id))
    assert {a.submission_id for a in accepted} == {e.event_id for e in events}
    assert len(events) == POSTS
    assert contact.submissions == POSTS
    assert sum(a.created for a in accepted) == 1
    assert contact.first_touch.as_dict()["source"] in {f"source-{n}" for n in range(POSTS)}
    assert contact.properties.as_dict()["company"].startswith("Company ")
