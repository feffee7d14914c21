"""The audit trail of the API: every write through a key and every bulk read of personal data
(the contact list and search, duplicates, segment members, rejected import rows, the audit
itself) is recorded after it is answered, refusals included: who (the key's id, name and
role), what (method and route, the ids in the path, the query), when, from where, the
status, and what a handler noted as before and after. Requests without a valid key did
nothing and name nobody, so they are not recorded (the form limits count them instead).
The caller is the one `access.authorize` found, not looked up again."""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timedelta
from typing import Any

from chalice import Response
from chalice.app import Request

from chalicelib.api import access, http
from chalicelib.api.http import jsonable, query_limit
from chalicelib.bootstrap import Services
from chalicelib.errors import FieldError, FormValidationError
from chalicelib.roles import Caller
from chalicelib.store.audit import Actor, Entry, Wanted

log = logging.getLogger(__name__)
# Query parameters that name a person (GET /contacts?email=...): the log outlives an erasure,
# so it keeps that they were given, never their value.
PERSONAL_PARAMS = frozenset({"email", "phone", "q"})
NOTE = "leadflow.audit"  # where a handler leaves its before and after, in request.context
PARAMS = ("since", "until", "actor", "action", "refused", "limit", "after", "format")
CHOICES = {"refused": ("1", "true", "yes", "0", "false", "no"), "format": ("json", "csv")}
ENTRY_ID = re.compile(r"\d{4}-\d\d-\d\dT[0-9:.+-]+#[0-9a-f]{20}")
DEFAULT_DAYS = 30


def note(request: Request, **details: Any) -> None:
    """Add to what the audit entry for this request says (before, after, counts)."""
    request.context.setdefault(NOTE, {}).update(jsonable(details))


def actor_of(caller: Caller, kind: str = "key") -> Actor:
    return Actor(kind, caller.key_id, caller.name, caller.role)


def _refusal(response: Response) -> dict[str, Any] | None:
    """What a refusal said (its message and the fields it named), to keep with the entry."""
    if response.status_code < 400 or not isinstance(response.body, str):
        return None
    try:
        body = json.loads(response.body)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    return {k: body[k] for k in ("error", "message", "fields") if k in body}


def entry_of(request: Request, actor: Actor, status: int) -> Entry:
    target = request.path
    for name, value in (request.uri_params or {}).items():
        target = target.replace("{" + name + "}", str(value))
    details = dict(request.context.get(NOTE, {}))
    if request.query_params:
        details["query"] = {
            k: "(given)" if k in PERSONAL_PARAMS else v for k, v in request.query_params.items()
        }
    return Entry(
        actor=actor,
        action=f"{request.method.upper()} {request.path}",
        status=status,
        target=target,
        source=http.client_ip(request),
        details=details,
    )


def record(svc: Services, entry: Entry) -> None:
    """Write an entry; a store that refuses is logged, and the answer already given stands."""
    try:
        svc.audit.record(entry)
    except Exception:  # the action is done: losing its record must not turn it into a 500
        log.exception("the audit log refused an entry for %s", entry.action)


def trail(request: Request, response: Response, svc: Services) -> Response:
    """Record this request if its route is audited and it carried a valid key."""
    if not access.audited(request.method.upper(), request.path):
        return response
    caller = access.current(request)
    if caller is not None:
        refused = _refusal(response)
        if refused:
            note(request, refused=refused)
        record(svc, entry_of(request, actor_of(caller), response.status_code))
    return response


def _time(params: dict[str, str], name: str, default: datetime) -> datetime:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        when = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise FormValidationError(
            [FieldError(name, "must be an ISO date or time, e.g. 2026-11-01")]
        ) from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=default.tzinfo)
    return when + timedelta(days=1) if name == "until" and len(raw) == 10 else when


def read(request: Request, svc: Services) -> Response:
    """GET /audit: entries newest first, filtered; `?format=csv` downloads them."""
    access.authorize(request, svc)
    params = dict(request.query_params or {})
    http.only(params, PARAMS)
    errors = [
        FieldError(name, f"must be one of {', '.join(choices)}")
        for name, choices in CHOICES.items()
        if name in params and params[name] not in choices
    ]
    after = params.get("after")
    if after is not None and not ENTRY_ID.fullmatch(after):
        errors.append(FieldError("after", "the `next` of a previous page"))
    if errors:
        raise FormValidationError(errors)
    now = svc.clock.now()
    wanted = Wanted(
        since=_time(params, "since", now - timedelta(days=DEFAULT_DAYS)),
        until=_time(params, "until", now),
        actor=params.get("actor") or None,
        action=params.get("action") or None,
        refused=params.get("refused") in ("1", "true", "yes"),
    )
    entries = [e.as_dict() for e in svc.audit.read(wanted, query_limit(request), after)]
    note(request, returned=len(entries))
    if params.get("format") == "csv":
        return http.csv_response([_flat(e) for e in entries], "audit")
    last = entries[-1]["id"] if len(entries) == query_limit(request) else None
    return http.json_response(200, {"entries": entries, "next": last})


def _flat(entry: dict[str, Any]) -> dict[str, Any]:
    actor = entry.pop("actor")
    return {
        **{f"actor_{k}": v for k, v in actor.items()},
        **entry,
        "details": str(entry["details"]),
    }
