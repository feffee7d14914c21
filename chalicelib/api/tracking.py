"""Route for tracked events (page views, downloads, custom events) from websites."""

from __future__ import annotations

from chalice import Response
from chalice.app import Request

from chalicelib.api import http
from chalicelib.bootstrap import Services
from chalicelib.services import tracker

CORS = {"Access-Control-Allow-Origin": "*"}


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
