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


def test_a_repeat_post_whose_contact_goes_between_its_read_and_its_write_is_recorded(svc, clock):
    """The contact's check goes out ahead of the key claims listed before it; its refusal is
    still read as the contact's (it was once read as a claim's, and answered 500)."""
    from chalicelib.store import tables

    form = load_form(svc.content, "whitepaper")

    def post(company: str):
        fields = raw_fields(lead(company=company))
        return submit(
            form, fields, RequestMeta(), clock=clock, contacts=svc.contacts, public_url="x"
        )

    first = post("First")
    client = tables.connection().client
    writes = []

    def erase_before_the_update(**_):
        writes.append(1)
        if len(writes) == 2:  # the repeat's second try: the contact exists, it is checked
            ContactModel(first.contact_id).delete()

    client.meta.events.register("before-call.dynamodb.TransactWriteItems", erase_before_the_update)
    try:
        again = post("Second")
    finally:
        client.meta.events.unregister(
            "before-call.dynamodb.TransactWriteItems", erase_before_the_update
        )

    contact = ContactModel.get(again.contact_id, consistent_read=True)
    assert again.submission_id in {e.event_id for e in EventModel.query(contact.id)}
