"""The root of the API leads somewhere, and a path no route serves answers 404 JSON, on the
local stack as on API Gateway."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from app import app
from chalicelib.api import index
from chalicelib.local import gateway
from chalicelib.local.stack import free_port


def test_the_root_is_a_page_of_the_stacks_pages(client):
    answer = client.http.get("/", headers={"Accept": "text/html"})

    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/html")
    page = answer.body.decode()
    assert 'href="/health"' in page
    assert 'href="/outbox"' in page  # the tests' services keep an outbox, as the local stack


def test_the_root_lists_what_the_local_stack_registered_and_answers_json_when_asked(client):
    index.register(index.Link("Landing page: whitepaper", "/forms/whitepaper"))
    try:
        answer = client.http.get("/", headers={"Accept": "application/json"})
    finally:
        index._registered.clear()

    assert answer.status_code == 200
    body = json.loads(answer.body)
    hrefs = ["/forms/whitepaper", "/dashboard", "/outbox", "/health"]
    assert [link["href"] for link in body["links"]] == hrefs


@pytest.fixture
def served(svc) -> Iterator[str]:
    """The app on the local stack's gateway, on a free port."""
    original = app.__class__
    port = free_port()
    server = gateway.server(app, "127.0.0.1", port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        app.__class__ = original


def _get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return answer.status, answer.headers["Content-Type"], answer.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read()


@pytest.mark.parametrize("path", ["/nope", "/forms/whitepaper/submissions/extra", "/api/x?y=1"])
def test_a_path_no_route_serves_answers_404_json_on_the_local_stack(served, path):
    status, kind, body = _get(served + path)

    assert (status, kind) == (404, "application/json")
    assert json.loads(body) == {
        "error": "not_found",
        "message": "there is no such route; docs/api.md lists the routes",
    }


def test_the_local_stacks_gateway_still_serves_the_routes(served):
    status, _, body = _get(served + "/health")

    assert status == 200, body
    assert json.loads(body)["status"] == "ok"


def test_a_method_or_media_type_chalice_refuses_gets_our_error_shape(client, svc):
    method = client.http.request(
        "PUT", "/events", body=b"{}", headers={"Content-Type": "application/json"}
    )
    media = client.http.post("/events", body=b"<x/>", headers={"Content-Type": "text/xml"})

    assert method.status_code == 405 and method.headers["Allow"].startswith("POST")
    assert method.json_body["error"] == "method_not_allowed"
    assert "PUT" in method.json_body["message"]
    assert media.status_code == 415
    assert media.json_body == {
        "error": "unsupported_media_type",
        "message": "The body was sent with Content-Type text/xml: send it as one of "
        "application/json, text/plain.",
    }
    bare = client.http.post("/imports", body=b"email\nada@example.com\n", headers={})
    assert bare.status_code == 415
    assert bare.json_body["message"].startswith("The body was sent with no Content-Type: ")


def test_an_ad_hoc_campaign_with_a_space_chinese_or_a_slash_links_to_its_page(
    served, client, journeys, admin_key
):
    """Its id is a visitor's utm_campaign: the dashboard encodes it as one path segment and
    the gateway decodes it into one path parameter, as API Gateway does."""
    from tests.builders import lead, post_json

    names = ("summer sale", "春季促销", "brand/2026")
    for n, name in enumerate(names):
        posted = post_json(client, lead(email=f"c{n}@example.com", utm_campaign=name))
        assert posted.status_code == 201
    journeys.settle()
    for name in names:
        request = urllib.request.Request(
            f"{served}/reports/campaigns/{quote(name, safe='')}", headers={"X-Api-Key": admin_key}
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status == 200, name
            shown = json.loads(answer.read())["campaign"]
            assert (shown["campaign"], shown["contacts"]) == (name, 1)
    login = client.http.post(
        "/dashboard/login",
        body=f"key={admin_key}&next=/dashboard/campaigns",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    cookie = login.headers["Set-Cookie"].split(";")[0]
    page = client.http.get("/dashboard/campaigns", headers={"Cookie": cookie}).body.decode()
    for name in names:
        assert f'href="/dashboard/campaigns/{quote(name, safe="")}?' in page, name
