"""Request parsing and response building shared by the routes; errors map to HTTP here once."""

from __future__ import annotations

import functools
import io
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from chalice import Response
from chalice.app import Request

from chalicelib import payload
from chalicelib.contacts.sheet import write_csv
from chalicelib.errors import (
    FieldError,
    FormValidationError,
    LeadflowError,
    MalformedBody,
    NotFound,
    PayloadTooLarge,
    Unavailable,
    UnsupportedMediaType,
)
from chalicelib.leads.capture import RawValue
from chalicelib.reports import table
from chalicelib.store import outage, tables

log = logging.getLogger(__name__)

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
TEXT = "text/plain"
MULTIPART = "multipart/form-data"
HTML = "text/html; charset=utf-8"


def media_type(request: Request) -> tuple[str, str]:
    """The content type without parameters, and its charset (utf-8 unless stated)."""
    raw = request.headers.get("content-type") or ""
    parts = [p.strip() for p in raw.split(";")]
    charset = next(
        (p.split("=", 1)[1].strip('"') for p in parts[1:] if p.lower().startswith("charset=")),
        "utf-8",
    )
    return parts[0].lower(), charset


def raw_body(request: Request, max_bytes: int) -> bytes:
    """The body's bytes (a file upload), or 413 past `max_bytes`."""
    return _raw(request, max_bytes)


def _raw(request: Request, max_bytes: int) -> bytes:
    body = request.raw_body or b""
    if len(body) > max_bytes:
        raise PayloadTooLarge(f"the body is {len(body)} bytes; the limit is {max_bytes}")
    return body


def _decode(body: bytes, charset: str) -> str:
    try:
        return body.decode(charset)
    except (UnicodeDecodeError, LookupError) as exc:
        raise MalformedBody(f"the body is not valid {charset} text") from exc


def json_object(request: Request, max_bytes: int) -> dict[str, Any]:
    kind, charset = media_type(request)
    if kind not in (JSON, TEXT):
        raise UnsupportedMediaType(f"send {JSON}, not {kind or 'no content type'}")
    text = _decode(_raw(request, max_bytes), charset)
    data = payload.loads(text) if text.strip() else None
    if not isinstance(data, dict):
        raise MalformedBody("the body must be a JSON object")
    return data


def only(fields: dict[str, Any], known: tuple[str, ...]) -> dict[str, Any]:
    """Refuse fields a route does not read, by name: a typo (`ammount`) is an error, not a
    silently ignored value."""
    unknown = [name for name in fields if name not in known]
    if unknown:
        rule = f"is not a field here (known: {', '.join(known)})"
        raise FormValidationError([FieldError(payload.shown(str(n)), rule) for n in unknown])
    return fields


def form_fields(request: Request, max_bytes: int) -> dict[str, Any]:
    """Fields from a JSON object or an urlencoded body (what a plain HTML form sends)."""
    kind, charset = media_type(request)
    if kind == FORM:
        text = _decode(_raw(request, max_bytes), charset)
        try:
            parsed = parse_qs(
                text,
                keep_blank_values=True,
                strict_parsing=False,
                max_num_fields=500,
                encoding=charset,
                errors="strict",
            )
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedBody(f"malformed form body: {exc}") from exc
        out: dict[str, RawValue] = {}
        for key, values in parsed.items():
            out[key] = values[0] if len(values) == 1 else values
        payload.check(out)
        return out
    if kind == JSON:
        return json_object(request, max_bytes)
    raise UnsupportedMediaType(f"send {JSON} or {FORM}, not {kind or 'no content type'}")


def wants_html(request: Request) -> bool:
    """A browser posting a plain HTML form gets pages and redirects; API callers get JSON."""
    kind, _ = media_type(request)
    accept = (request.headers.get("accept") or "").lower()
    return kind == FORM and JSON not in accept


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=json.dumps(body, default=str, ensure_ascii=False),
        status_code=status,
        headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
    )


def jsonable(value: Any) -> Any:
    """An answer's value as plain JSON types (store/tables.py's json_ready)."""
    return tables.json_ready(value)


def query_limit(request: Request, default: int = 100) -> int:
    """?limit=, a whole number from 1 to 500."""
    raw = (request.query_params or {}).get("limit", str(default))
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 500:
        raise FormValidationError([FieldError("limit", "must be a whole number from 1 to 500")])
    return int(raw)


def csv_response(rows: list[dict[str, Any]], name: str) -> Response:
    """Rows as a CSV download, UTF-8 with the BOM Excel needs to show Chinese."""
    header, cells = table.tabulate(rows)
    out = io.BytesIO()
    write_csv(out, header, cells, "utf-8-sig")
    return Response(
        body=out.getvalue().decode("utf-8"),
        status_code=200,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{name}.csv"',
        },
    )


def html_response(status: int, html: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=html, status_code=status, headers={"Content-Type": HTML, **(headers or {})}
    )


def redirect(location: str, headers: dict[str, str] | None = None) -> Response:
    return Response(body="", status_code=303, headers={"Location": location, **(headers or {})})


def kept_header(request: Request, name: str) -> str | None:
    """A header Leadflow stores (Referer, User-Agent), or None when it is not text. It is the
    browser's metadata, not what the visitor typed: dropping it beats refusing the lead."""
    value = request.headers.get(name)
    return value if value is not None and payload.text_fault(value) is None else None


def back_link(request: Request, fallback: str) -> str:
    """Where a page's "back" link goes: the Referer when it is an http(s) URL, else
    `fallback`. The Referer is whatever the client sent, and a `javascript:` link runs."""
    referer = (request.headers.get("referer") or "").strip()
    parts = urlsplit(referer)
    web = parts.scheme.lower() in ("http", "https") and bool(parts.netloc)
    return referer if web and payload.text_fault(referer, name=True) is None else fallback


def client_ip(request: Request) -> str | None:
    identity = (request.context or {}).get("identity") or {}
    return identity.get("sourceIp")


UNAVAILABLE = Unavailable(
    "Leadflow cannot reach its store right now, so this may not have been recorded. Retry;"
    " with the same Idempotency-Key it is recorded once."
)


# What a path no route serves answers: API Gateway's response for it (infra/template.py) and
# the local stack's gateway (local/gateway.py) both send this body with 404.
NO_ROUTE = NotFound("there is no such route; docs/api.md lists the routes")


def error_response(err: LeadflowError, headers: dict[str, str] | None = None) -> Response:
    return json_response(err.status, err.body(), {**(headers or {}), **err.headers()})


def guarded(fn: Callable[..., Response]) -> Callable[..., Response]:
    """Map typed errors to their status with a JSON body; never leak a stack trace. An
    unreachable store is 503 with Retry-After: the client's retry is safe and will succeed."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return fn(*args, **kwargs)
        except LeadflowError as err:
            return error_response(err)
        except Exception as exc:
            if outage.is_outage(exc):
                log.warning("%s: the store is unavailable (%s)", fn.__name__, type(exc).__name__)
                return error_response(UNAVAILABLE)
            log.exception("unhandled error in %s", fn.__name__)
            return json_response(500, {"error": "internal", "message": "Something went wrong."})

    return wrapper
