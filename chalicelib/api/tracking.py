"""Route for tracked events (page views, downloads, custom events) from websites."""

from __future__ import annotations

from datetime import timedelta

from chalice import Response
from chalice.app import Request

from chalicelib.api import http
from chalicelib.bootstrap import Services
from chalicelib.errors import TooManyRequests
from chalicelib.services import tracker
from chalicelib.store.limits import Limit

CORS = {"Access-Control-Allow-Origin": "*"}
# Events one client address, and one visitor id, may send in a window: a busy reader sends a
# few a minute and an office behind one address a few hundred; a script replaying events is
# slowed, not stored. Both apply, so a new visitor id per request does not escape the first.
ADDRESS_LIMIT = Limit("events-address", 1200, timedelta(minutes=10))
VISITOR_LIMIT = Limit("events-visitor", 600, timedelta(minutes=10))


def preflight() -> Response:
    return Response(
        body="",
        status_code=204,
        headers={
            **CORS,
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "600",
        },
    )


def track(request: Request, svc: Services) -> Response:
    body = http.json_object(request, svc.settings.max_body_bytes)
    address, now = http.client_ip(request), svc.clock.now()
    visitor = body.get("visitor_id")
    try:
        svc.limiter.enforce(ADDRESS_LIMIT, address, now, address)
        if isinstance(visitor, str):
            svc.limiter.enforce(VISITOR_LIMIT, visitor, now, address)
    except TooManyRequests as err:
        return http.error_response(err, CORS)
    result = tracker.track(
        body,
        http.kept_header(request, "referer"),
        origin=http.kept_header(request, "origin"),
        clock=svc.clock,
        contacts=svc.contacts,
        events=svc.events,
    )
    answer = {"status": "accepted", "event_id": result.event_id}
    return http.json_response(200 if result.replayed else 202, answer, CORS)
