"""Admin API for imports: upload a CSV or .xlsx file as the body, follow the job, fetch the
rejected rows, list the jobs to find one again. The options are the CLI's, as query
parameters."""

from __future__ import annotations

import re

from chalice import Response
from chalice.app import Request

from chalicelib.api import audit, http
from chalicelib.api.access import authorize
from chalicelib.api.http import query_limit
from chalicelib.bootstrap import Services
from chalicelib.consent import PURPOSE_IN_BULK, PURPOSE_PREFIX
from chalicelib.contacts.encoding import EncodingError, known
from chalicelib.contacts.reconcile import OnExisting
from chalicelib.contacts.records import tag_fault
from chalicelib.errors import FieldError, FormValidationError, UnsupportedMediaType
from chalicelib.leads import normalise
from chalicelib.payload import shown
from chalicelib.services.import_desk import MAX_BYTES
from chalicelib.services.importer import ImportOptions
from chalicelib.store.import_jobs import STATUSES
from chalicelib.store.imports import MAX_LISTS

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BINARY = "application/octet-stream"
UPLOAD_TYPES = [CSV, XLSX, BINARY, http.TEXT]
PARAMS = (
    "name",
    "dry_run",
    "on_existing",
    "encoding",
    "phone_region",
    "tags",
    "lists",
    "consent_topics",
    "consent_source",
)
LIST_PARAMS = ("status", "limit", "after")
CURSOR = re.compile(r"imp_[0-9a-z]{26}")  # a page's `next`: the last job id it listed


def submit(request: Request, svc: Services) -> Response:
    """202 and the job: the file is imported in the background (GET /imports/{id})."""
    caller = authorize(request, svc)
    kind, _ = http.media_type(request)
    if kind not in UPLOAD_TYPES:
        raise UnsupportedMediaType(f"send the file as {CSV} or {XLSX}, not {kind or 'nothing'}")
    data = http.raw_body(request, MAX_BYTES)
    params = request.query_params or {}
    options, dry_run, name = _options(params, svc, kind)
    if not data:
        raise FormValidationError([FieldError("body", "the file is empty")])
    job = svc.imports.submit(data, name, options, dry_run, f"api:{caller.name}")
    audit.note(request, after={"job": job["id"], "file": name, "bytes": len(data)})
    return http.json_response(202, job, {"Location": f"/imports/{job['id']}"})


def jobs(request: Request, svc: Services) -> Response:
    """The import jobs, newest first, a page at a time: how a job id is found again."""
    authorize(request, svc)
    params = request.query_params or {}
    unknown = [name for name in params if name not in LIST_PARAMS]
    errors = [FieldError(shown(name), "is not a parameter of the import list") for name in unknown]
    status = params.get("status")
    if status is not None and status not in STATUSES:
        errors.append(FieldError("status", f"must be one of {', '.join(STATUSES)}"))
    after = params.get("after")
    if after is not None and not CURSOR.fullmatch(after):
        errors.append(FieldError("after", "the `next` of a previous page"))
    try:
        limit = query_limit(request, 50)
    except FormValidationError as exc:
        errors += exc.fields
    if errors:
        raise FormValidationError(errors)
    page, cursor = svc.imports.newest(limit, status, after)
    return http.json_response(200, {"imports": page, "next": cursor})


def status(request: Request, job_id: str, svc: Services) -> Response:
    authorize(request, svc)
    return http.json_response(200, svc.imports.status(job_id))


def rejected(request: Request, job_id: str, svc: Services) -> Response:
    """The rejected rows as CSV (UTF-8 with a BOM, as Excel opens it)."""
    authorize(request, svc)
    text = svc.imports.rejected(job_id)
    return Response(
        body="\ufeff" + text,
        status_code=200,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{job_id}-rejected.csv"',
        },
    )


def _options(params: dict[str, str], svc: Services, kind: str) -> tuple[ImportOptions, bool, str]:
    errors = [FieldError(n, "is not an option of an import") for n in params if n not in PARAMS]
    on_existing = params.get("on_existing", OnExisting.UPDATE.value)
    if on_existing not in {m.value for m in OnExisting}:
        errors.append(FieldError("on_existing", "must be update, skip or fill-empty"))
    dry_run = params.get("dry_run", "false").lower()
    if dry_run not in ("true", "false", "1", "0"):
        errors.append(FieldError("dry_run", "must be true or false"))
    region = params.get("phone_region")
    if region:
        try:
            region = normalise.country(region)
        except normalise.InvalidValue as exc:
            errors.append(FieldError("phone_region", str(exc)))
    lists = [n for n in (params.get("lists") or "").split(",") if n.strip()]
    if len(lists) > MAX_LISTS:
        errors.append(FieldError("lists", f"at most {MAX_LISTS} lists"))
        lists = []
    tags = [t.strip() for t in (params.get("tags") or "").split(",") if t.strip()]
    errors += [FieldError("tags", f"{t!r}: {tag_fault(t)}") for t in tags if tag_fault(t)]
    book = svc.segments.book()
    for name in lists:
        segment = book.segments.get(name) if book else None
        if segment is None or not segment.static:
            errors.append(FieldError("lists", f"{name} is not a published static list"))
    encoding = params.get("encoding")
    if encoding:
        try:
            known(encoding)
        except EncodingError as exc:
            errors.append(FieldError("encoding", str(exc)))
    name = params.get("name") or ("upload.xlsx" if kind == XLSX else "upload.csv")
    if len(name) > 200 or name in (".", "..") or any(c in name for c in "/\\\x00"):
        errors.append(FieldError("name", "a file name of at most 200 characters, no path"))
    topics = [t.strip() for t in (params.get("consent_topics") or "").split(",") if t.strip()]
    if any(t.startswith(PURPOSE_PREFIX) for t in topics):
        errors.append(FieldError("consent_topics", PURPOSE_IN_BULK))
    if errors:
        raise FormValidationError(errors)
    options = ImportOptions(
        on_existing=OnExisting(on_existing),
        encoding=encoding,
        tags=frozenset(tags),
        lists=frozenset(lists),
        consent_topics=tuple(topics),
        consent_source=params.get("consent_source") or "",
        phone_region=region or None,
    )
    return options, dry_run in ("true", "1"), name
