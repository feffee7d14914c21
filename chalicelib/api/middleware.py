"""HTTP middleware: how an answer is reshaped on its way out, whatever route made it.

- Chalice's own refusals (405, 415, its binary-Accept 400) take our `{"error", "message"}`.
- A browser gets pages instead of JSON: for a 503 (come back soon) and for a link we refuse.
- Routes that answer with bytes (the open pixel, downloads) answer whatever Accept says.
- Every invocation, HTTP or not, is tagged for the logs and writes its metrics at the end.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from typing import Any

from chalice import Response
from chalice.app import CaseInsensitiveMapping, Request

from chalicelib import telemetry
from chalicelib.api import pages
from chalicelib.api.http import (
    HTML,
    JSON,
    UNAVAILABLE,
    back_link,
    html_response,
    json_response,
    wants_html,
)

Handler = Callable[[Request], Response]

# Chalice's own refusals, in our error shape (docs/api.md): what it answers before a view runs.
_CHALICE_CODES = {
    "MethodNotAllowedError": "method_not_allowed",
    "UnsupportedMediaType": "unsupported_media_type",
    "BadRequest": "bad_request",
}


def wants_page(request: Request) -> bool:
    """A browser (a form post or a page it navigated to), rather than a program."""
    accept = (request.headers.get("accept") or "").lower()
    return wants_html(request) or ("text/html" in accept and JSON not in accept)


def _error_body(response: Response) -> dict[str, Any] | None:
    """The JSON object an error answer carries: a view's JSON text, or the dict Chalice's own
    refusals hold (they have no Content-Type yet)."""
    kind = str((response.headers or {}).get("Content-Type", JSON))
    if response.status_code < 400 or not kind.startswith(JSON):
        return None
    body = response.body
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    return body if isinstance(body, dict) else None


def _headers_but_type(response: Response) -> dict[str, str]:
    return {k: v for k, v in (response.headers or {}).items() if k.lower() != "content-type"}


def one_error_shape(
    request: Request, get_response: Handler, routes: dict[str, Any] | None = None
) -> Response:
    """A 405 or 415 that Chalice answers itself (`{"Code", "Message"}`) gets the same
    `{"error", "message"}` body as every other refusal; a 415 names the types the route
    takes (`routes`: the app's), where Chalice names only what it assumed."""
    response = get_response(request)
    body = _error_body(response)
    if body is None or body.get("Code") not in _CHALICE_CODES:
        return response
    message = str(body.get("Message", ""))
    if body["Code"] == "UnsupportedMediaType" and routes is not None:
        message = _media_types(request, routes) or message
    ours = {"error": _CHALICE_CODES[body["Code"]], "message": message}
    return json_response(response.status_code, ours, _headers_but_type(response))


def _media_types(request: Request, routes: dict[str, Any]) -> str | None:
    """What a refused body should have been sent as. Chalice reads a request without a
    Content-Type as JSON, and said so: the message named a type the client never sent."""
    entry = routes.get((request.context or {}).get("resourcePath", ""), {}).get(request.method)
    taken = getattr(entry, "content_types", None)
    if not taken:
        return None
    sent = request.headers.get("content-type")
    said = f"Content-Type {sent}" if sent else "no Content-Type"
    return f"The body was sent with {said}: send it as one of {', '.join(taken)}."


def pages_for_browsers(request: Request, get_response: Handler) -> Response:
    """A browser that meets a 503 gets a page that says to come back, with the same status
    and Retry-After, instead of a JSON body; one that opens a link we refuse (a click, accept
    or preference link altered or expired), or posts past a form's limit, gets a page that
    says why."""
    response = get_response(request)
    if not wants_page(request):
        return response
    problem = _error_body(response)
    refused = request.method == "GET" and response.status_code in (400, 404)
    if (refused or response.status_code == 429) and problem and "error" in problem:
        page = pages.render("problem.html", message=problem.get("message", ""))
        headers = {**_headers_but_type(response), "Content-Type": HTML}
        return html_response(response.status_code, page, headers)
    if response.status_code != 503:
        return response
    retry = (response.headers or {}).get("Retry-After", str(UNAVAILABLE.retry_after))
    page = pages.render(
        "unavailable.html",
        retry_after=retry,
        reload=request.method == "GET",  # a form post is not repeated behind the visitor's back
        back=back_link(request, "/"),
    )
    return html_response(503, page, {**_headers_but_type(response), "Retry-After": retry})


def bytes_whatever_accepted(
    request: Request, get_response: Handler, routes: Collection[str]
) -> Response:
    """These routes answer with their bytes whatever the request's Accept. Chalice, like API
    Gateway, refuses a binary answer of a type the request did not list, and mail programs
    fetch images, and download tools files, with anything from `image/*` to no Accept."""
    if request.path in routes:
        request.headers = CaseInsensitiveMapping({**request.headers, "accept": "*/*"})
    return get_response(request)


def invocation(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Every invocation (a request, a batch, a tick): its logs tagged with its request id,
    and the metrics it counted written when it ends."""
    context = getattr(event, "context", None)
    if isinstance(context, dict):  # an HTTP request: API Gateway's id
        request_id = context.get("requestId")
    else:
        request_id = getattr(context, "aws_request_id", None)
    telemetry.begin(request_id)
    try:
        return get_response(event)
    finally:
        telemetry.flush()
