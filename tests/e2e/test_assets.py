"""Files in marketing/assets/ served at /assets/{name}, and the thank-you page's download.
(Validation: tests/unit/test_assets.py; publishing: tests/integration/test_assets.py.)"""

from __future__ import annotations

import hashlib
import json

from chalicelib.content import catalog
from chalicelib.services import publisher
from chalicelib.store.models import ContactModel
from tests.builders import ROOT, all_events, lead, post_json
from tests.unit.test_assets import _marketing, _offering

SAMPLE = ROOT / "marketing" / "assets" / "playbook-2026.pdf"


def test_a_published_pdf_is_served_with_its_exact_bytes_to_open_in_the_browser(client):
    answer = client.http.get("/assets/playbook-2026.pdf", headers={"Accept": "*/*"})

    data = SAMPLE.read_bytes()
    assert answer.status_code == 200
    assert answer.body == data
    assert answer.headers["Content-Type"] == "application/pdf"
    assert answer.headers["Content-Disposition"] == 'inline; filename="playbook-2026.pdf"'
    assert answer.headers["ETag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert answer.headers["Cache-Control"] == "public, max-age=300"


def test_a_file_to_save_is_served_as_an_attachment_whatever_the_client_accepts(
    svc, client, tmp_path
):
    data = b"PK\x03\x04" + bytes(range(256)) * 4
    publisher.publish(catalog.load(_marketing(tmp_path, {"templates.zip": data})), svc.content)

    answers = [
        client.http.get("/assets/templates.zip", headers=headers)
        for headers in ({}, {"Accept": "text/html,application/xhtml+xml"}, {"Accept": "*/*"})
    ]

    assert [(a.status_code, a.body) for a in answers] == [(200, data)] * 3
    assert answers[0].headers["Content-Type"] == "application/zip"
    assert answers[0].headers["Content-Disposition"] == 'attachment; filename="templates.zip"'


def test_a_browser_that_has_the_file_is_told_so_without_the_bytes(client):
    etag = client.http.get("/assets/playbook-2026.pdf").headers["ETag"]

    again = client.http.get("/assets/playbook-2026.pdf", headers={"If-None-Match": etag})

    assert again.status_code == 304
    assert again.body == b""
    assert again.headers["ETag"] == etag


def test_an_unknown_file_is_a_404_naming_it(client):
    answer = client.http.get("/assets/playbook-2025.pdf")

    assert answer.status_code == 404
    assert json.loads(answer.body) == {
        "error": "not_found",
        "message": "there is no asset 'playbook-2025.pdf'",
    }


# --- the thank-you page's download -----------------------------------------------------------


def test_the_thank_you_page_offers_the_forms_file_and_the_link_serves_it(client):
    page = client.http.get("/forms/whitepaper/thank-you").body.decode()

    link = "https://leads.example.com/assets/playbook-2026.pdf"
    assert (
        f'<a class="download" id="lf-download" href="{link}">Download the playbook (PDF)</a>'
        in page
    )
    assert "/assets/playbook-2026.pdf</" not in page  # no longer a path written as text
    served = client.http.get(link.removeprefix("https://leads.example.com"))
    assert served.body == SAMPLE.read_bytes()


def test_a_download_by_url_links_the_url(svc, client, tmp_path):
    form = _offering("""\
        label: Watch the webinar
        url: https://cdn.example.com/webinar.mp4
    """)
    publisher.publish(catalog.load(_marketing(tmp_path, form=form)), svc.content)

    page = client.http.get("/forms/demo/thank-you").body.decode()

    assert 'href="https://cdn.example.com/webinar.mp4">Watch the webinar</a>' in page


def test_a_download_click_lands_on_the_contact_who_submitted_the_form(client, svc):
    post_json(client, lead(visitor_id="v_thanks_0001"))
    page = client.http.get("/forms/whitepaper/thank-you").body.decode()

    # What the page's script sends (navigator.sendBeacon: the JSON as text/plain).
    beacon = {
        "type": "file_downloaded",
        "visitor_id": "v_thanks_0001",
        "page_url": "https://leads.example.com/forms/whitepaper/thank-you",
        "properties": {"file": "playbook-2026.pdf", "form_id": "whitepaper"},
    }
    answer = client.http.post(
        "/events", headers={"Content-Type": "text/plain"}, body=json.dumps(beacon)
    )

    assert 'type: "file_downloaded"' in page and 'file: "playbook-2026.pdf"' in page
    assert answer.status_code == 202
    (contact,) = ContactModel.scan()
    downloads = [e for e in all_events() if e.type == "file_downloaded"]
    assert [(e.contact_id, e.properties.as_dict()["file"]) for e in downloads] == [
        (contact.id, "playbook-2026.pdf")
    ]
