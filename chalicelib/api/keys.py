"""Admin API for API keys: create (the key is in this answer only), list (never the key),
revoke. Only admin keys manage keys."""

from __future__ import annotations

from datetime import timedelta

from chalice import Response
from chalice.app import Request

from chalicelib.api import audit, http
from chalicelib.api.access import authorize
from chalicelib.api.http import jsonable
from chalicelib.bootstrap import Services
from chalicelib.conditions import durations
from chalicelib.errors import FieldError, FormValidationError, NotFound
from chalicelib.roles import ROLES
from chalicelib.store.api_keys import KEY_ID, key_id

BODY_BYTES = 2048
FIELDS = ("name", "role", "owner", "team", "expires_in")
NAME_MAX = 100


def list_keys(request: Request, svc: Services) -> Response:
    authorize(request, svc)
    return http.json_response(200, jsonable({"keys": svc.api_keys.list()}))


def create_key(request: Request, svc: Services) -> Response:
    """201 with the key, shown this once; `expires_in` (90d) makes it refused after that."""
    authorize(request, svc)
    body = http.only(
        http.json_object(request, BODY_BYTES), ("name", "role", "owner", "team", "expires_in")
    )
    errors = []
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > NAME_MAX:
        errors.append(FieldError("name", f"give a name of 1 to {NAME_MAX} characters"))
    role = body.get("role", "admin")
    if role not in ROLES:
        errors.append(FieldError("role", f"must be one of {', '.join(ROLES)}"))
    owner = body.get("owner")
    routing = svc.leads.routing()
    if owner is not None and (
        not isinstance(owner, str) or routing is None or routing.owner(owner) is None
    ):
        errors.append(FieldError("owner", "must be a member id from routing.yaml"))
    team = body.get("team")
    if team is not None and (
        not isinstance(team, str) or routing is None or team not in {t.id for t in routing.teams}
    ):
        errors.append(FieldError("team", "must be a team id from routing.yaml"))
    expires: timedelta | None = None
    if body.get("expires_in") is not None:
        try:
            expires = durations.parse(body["expires_in"])
        except ValueError as exc:
            errors.append(FieldError("expires_in", str(exc)))
    if errors:
        raise FormValidationError(errors)
    try:
        key = svc.api_keys.create(
            name.strip(), role, owner, svc.clock.now() + expires if expires else None, team
        )
    except ValueError as exc:
        field = "team" if "team" in str(exc) else "owner"
        raise FormValidationError([FieldError(field, str(exc))]) from exc
    listed = next(k for k in svc.api_keys.list() if k["id"] == key_id(key))
    audit.note(request, after=listed)
    return http.json_response(201, jsonable({**listed, "key": key}))


def revoke_key(request: Request, key_id: str, svc: Services) -> Response:
    authorize(request, svc)
    if len(key_id) != KEY_ID or not svc.api_keys.revoke(key_id):
        raise NotFound(f"no active key {key_id!r}")
    audit.note(request, before={"status": "active"}, after={"status": "revoked"})
    return http.json_response(200, {"id": key_id, "status": "revoked"})
