"""GET /assets/{name}: the files published from marketing/assets/, as a browser expects them.

PDFs and images open in the browser, other files are saved, both under their own name; the
ETag is the file's SHA-256, so a browser that has the file gets a 304 without the bytes.
"""

from __future__ import annotations

from chalice import Response
from chalice.app import Request

from chalicelib import payload
from chalicelib.bootstrap import Services
from chalicelib.errors import NotFound
from chalicelib.leads import downloads

ROUTE = "/assets/{name}"
# What the route answers with: app.py lists them in Chalice's binary types, so the body goes
# out as bytes (base64 through API Gateway, which infra/ makes treat every type as binary).
MEDIA_TYPES = downloads.MEDIA_TYPES
# A file may be republished under its name; five minutes, then the browser asks (a 304 when
# the ETag still holds).
CACHE_CONTROL = "public, max-age=300"


def url(public_url: str, name: str) -> str:
    return f"{public_url}/assets/{name}"


def _matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 If-None-Match: `*` or a list of entity tags, compared weakly."""
    if not if_none_match:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


def serve(request: Request, name: str, svc: Services) -> Response:
    body = svc.content.latest(downloads.KIND, name) if downloads.NAME.match(name) else None
    if body is None:
        raise NotFound(f"there is no asset {payload.shown(name)!r}")
    etag = f'"{body["sha256"]}"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(body="", status_code=304, headers=headers)
    kind = downloads.file_type(name)
    assert kind is not None, "only names of a known type are published"
    disposition = "inline" if kind.inline else "attachment"
    return Response(
        body=svc.content.read_bytes(body["sha256"]),
        status_code=200,
        headers={
            **headers,
            "Content-Type": body["media_type"],
            "Content-Disposition": f'{disposition}; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
        },
    )
