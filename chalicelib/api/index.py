"""GET /: where to go from the root of the API, instead of API Gateway's bare 403.

It lists the pages the API serves (health, and the outbox where there is one); the local stack
registers its own (the forms' landing pages, the webhook receiver) with `register`, as it
registers health checks. A program that asks for JSON gets the same list as JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from chalice import Response
from chalice.app import Request

from chalicelib.api import http, pages
from chalicelib.bootstrap import Services


@dataclass(frozen=True)
class Link:
    title: str
    href: str
    note: str = ""


_registered: list[Link] = []


def register(link: Link) -> None:
    _registered.append(link)


def links(svc: Services) -> list[Link]:
    found = list(_registered)
    found.append(Link("Dashboard", "/dashboard", "reports: funnel, campaigns and ROI, journeys"))
    if svc.mailbox is not None:
        found.append(Link("Outbox", "/outbox", "every email sent, as its reader sees it"))
    found.append(Link("Health", "/health", "each part of the stack, up or down"))
    return found


def page(request: Request, svc: Services) -> Response:
    found = links(svc)
    accept = (request.headers.get("accept") or "").lower()
    if http.JSON in accept and "text/html" not in accept:
        return http.json_response(200, {"name": "Leadflow", "links": [asdict(x) for x in found]})
    return http.html_response(200, pages.render("index.html", links=found))
