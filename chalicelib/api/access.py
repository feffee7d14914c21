"""Every route and what it needs, in one table: a permission (chalicelib/roles.py) checked
against the caller's API key, or why it needs no key. `authorize` reads the table by the
route the request matched, so a handler cannot ask for the wrong role, and
tests/e2e/test_access.py walks each role against each route."""

from __future__ import annotations

from chalice.app import Request

from chalicelib import roles
from chalicelib.bootstrap import Services
from chalicelib.errors import Forbidden, Unauthorized
from chalicelib.roles import Caller

# Routes that need no key, and why.
PUBLIC = "public"  # forms, tracking, pages and links people follow from an email
SIGNED = "signed"  # the link or notification carries its own signature (accept, SES)
SESSION = "session"  # the dashboard: a login cookie, then the page's own permission
LOCAL = "local"  # the outbox: the local stack's captured email only (404 on AWS)

ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/"): PUBLIC,
    ("GET", "/health"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("POST", "/forms/{form_id}/submissions"): PUBLIC,
    ("OPTIONS", "/forms/{form_id}/submissions"): PUBLIC,
    ("GET", "/forms/{form_id}"): PUBLIC,
    ("GET", "/forms/{form_id}/thank-you"): PUBLIC,
    ("GET", "/assets/{name}"): PUBLIC,
    ("POST", "/events"): PUBLIC,
    ("OPTIONS", "/events"): PUBLIC,
    ("GET", "/t/c/{token}"): SIGNED,
    ("GET", "/t/o/{token}"): SIGNED,
    ("GET", "/unsubscribe/{token}"): SIGNED,
    ("POST", "/unsubscribe/{token}"): SIGNED,
    ("POST", "/ses/notifications"): SIGNED,
    ("GET", "/accept/{token}"): SIGNED,
    ("POST", "/accept/{token}"): SIGNED,
    ("GET", "/outbox"): LOCAL,
    ("GET", "/outbox/{name}"): LOCAL,
    ("GET", "/outbox/{name}/raw"): LOCAL,
    ("GET", "/dashboard"): SESSION,
    ("GET", "/dashboard/{page}"): SESSION,
    ("POST", "/dashboard/{page}"): SESSION,
    ("GET", "/dashboard/{page}/{item_id}"): SESSION,
    ("POST", "/dashboard/{page}/{item_id}"): SESSION,
    ("GET", "/contacts"): roles.LEADS_READ,
    ("GET", "/contacts/{contact_id}"): roles.LEADS_READ,
    ("GET", "/contacts/duplicates"): roles.CONTACTS,
    ("POST", "/contacts/merge"): roles.CONTACTS,
    ("POST", "/contacts/{contact_id}/consents"): roles.CONTACTS,
    ("POST", "/imports"): roles.CONTACTS,
    ("GET", "/imports"): roles.CONTACTS,
    ("GET", "/imports/{job_id}"): roles.CONTACTS,
    ("GET", "/imports/{job_id}/rejected"): roles.CONTACTS,
    ("GET", "/segments"): roles.REPORTS,
    ("GET", "/segments/{segment_id}/members"): roles.CONTACTS,
    ("POST", "/segments/{segment_id}/members"): roles.CONTACTS,
    ("DELETE", "/segments/{segment_id}/members/{contact_id}"): roles.CONTACTS,
    ("GET", "/segments/{segment_id}/explain"): roles.CONTACTS,
    ("GET", "/broadcasts"): roles.REPORTS,
    ("GET", "/broadcasts/{broadcast_id}"): roles.REPORTS,
    ("PUT", "/broadcasts/{broadcast_id}"): roles.CONTENT,
    ("GET", "/broadcasts/{broadcast_id}/preview"): roles.CONTENT,
    ("POST", "/broadcasts/{broadcast_id}/schedule"): roles.CONTENT,
    ("POST", "/broadcasts/{broadcast_id}/cancel"): roles.CONTENT,
    ("GET", "/reports/overview"): roles.REPORTS,
    ("GET", "/reports/funnel"): roles.REPORTS,
    ("GET", "/reports/cohorts"): roles.REPORTS,
    ("GET", "/reports/campaigns"): roles.REPORTS,
    ("GET", "/reports/campaigns/{campaign_id}"): roles.REPORTS,
    ("GET", "/reports/channels"): roles.REPORTS,
    ("GET", "/reports/emails"): roles.REPORTS,
    ("GET", "/reports/journeys/{journey_id}"): roles.REPORTS,
    ("GET", "/reports/broadcasts/{broadcast_id}"): roles.REPORTS,
    ("GET", "/reports/sales"): roles.SALES_REPORT,
    ("POST", "/leads/{contact_id}/{action}"): roles.LEADS_WORK,
    ("GET", "/deliveries"): roles.LEADS_WORK,
    ("POST", "/deliveries/replay"): roles.ADMINISTER,
    ("GET", "/keys"): roles.ADMINISTER,
    ("POST", "/keys"): roles.ADMINISTER,
    ("DELETE", "/keys/{key_id}"): roles.ADMINISTER,
    ("GET", "/audit"): roles.ADMINISTER,
    ("GET", "/privacy/requests"): roles.ADMINISTER,
    ("POST", "/privacy/requests"): roles.ADMINISTER,
    ("GET", "/privacy/requests/{request_id}"): roles.ADMINISTER,
    ("POST", "/privacy/requests/{request_id}/fulfil"): roles.ADMINISTER,
}
# Reads of personal data in bulk, audited like every write through a key.
BULK_READS = frozenset(
    {
        ("GET", "/contacts"),
        ("GET", "/contacts/duplicates"),
        ("GET", "/segments/{segment_id}/members"),
        ("GET", "/imports/{job_id}/rejected"),
        ("GET", "/audit"),
    }
)
OPEN = frozenset({PUBLIC, SIGNED, SESSION, LOCAL})

# The dashboard's pages (and their item pages) behind a login, with what each needs.
DASHBOARD: dict[str, str] = {
    "overview": roles.REPORTS,
    "funnel": roles.REPORTS,
    "campaigns": roles.REPORTS,
    "channels": roles.REPORTS,
    "journeys": roles.REPORTS,
    "emails": roles.REPORTS,
    "broadcasts": roles.REPORTS,
    "segments": roles.REPORTS,
    "sales": roles.SALES_REPORT,
    "contacts": roles.LEADS_READ,
}


def audited(method: str, path: str) -> bool:
    """Every write through a key, and every bulk read of personal data."""
    needed = ROUTES.get((method, path))
    if needed is None or needed in OPEN:
        return False
    return method not in ("GET", "HEAD", "OPTIONS") or (method, path) in BULK_READS


def permission_of(request: Request) -> str:
    """What the route this request matched needs; a route missing from the table is refused
    to everyone (a test keeps the table whole)."""
    return ROUTES.get((request.method.upper(), request.path), roles.ADMINISTER + ".unlisted")


def caller_of(request: Request, svc: Services) -> Caller:
    """The API key's caller, or 401."""
    key = request.headers.get("x-api-key")
    if not key:
        raise Unauthorized("send an API key in the X-Api-Key header")
    caller = svc.api_keys.caller_of(key)
    if caller is None:
        raise Unauthorized("unknown API key")
    return caller


CALLER = "leadflow.caller"  # where authorize leaves the caller, in request.context


def current(request: Request) -> Caller | None:
    """The caller this request's key was authorized as (refused ones too), if any."""
    found = (request.context or {}).get(CALLER)
    return found if isinstance(found, Caller) else None


def authorize(request: Request, svc: Services) -> Caller:
    """The caller, if its role grants what this route needs; 401 without a valid key, 403
    for a role that may not. The caller is kept on the request for the audit trail."""
    caller = caller_of(request, svc)
    request.context[CALLER] = caller
    needed = permission_of(request)
    if not caller.may(needed):
        raise Forbidden(f"the {caller.role} role may not do this ({needed})")
    if caller.role == roles.SALES and not caller.owner:
        raise Forbidden("this sales key belongs to no owner: create a new one with --owner")
    if caller.role == roles.SALES_MANAGER and not caller.team:
        raise Forbidden("this sales manager's key belongs to no team: create one with --team")
    return caller
