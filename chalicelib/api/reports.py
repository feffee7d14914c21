"""Report routes: JSON by default, CSV with ?format=csv (or Accept: text/csv), for a period
given as ?from=&to= (ISO dates; the last 30 days by default). Reports are figures, not
personal data: admin and viewer keys read them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice import Response
from chalice.app import Request

from chalicelib.api import access, http
from chalicelib.api.access import authorize
from chalicelib.bootstrap import Services
from chalicelib.errors import FieldError, FormValidationError, NotFound
from chalicelib.reports import table
from chalicelib.reports.credit import Model
from chalicelib.reports.period import Period, PeriodError
from chalicelib.services.reports import EMAIL_KINDS, FUNNEL_BY

CSV = "text/csv"
KNOWN = ("from", "to", "format", "model", "by", "key")


def _params(request: Request) -> dict[str, str]:
    params = dict(request.query_params or {})
    unknown = sorted(set(params) - set(KNOWN))
    if unknown:
        raise FormValidationError(
            [FieldError(unknown[0], f"unknown parameter; use {', '.join(KNOWN)}")]
        )
    return params


def _period(svc: Services, params: dict[str, str]) -> Period:
    try:
        return Period.of(params.get("from"), params.get("to"), svc.clock.now().date())
    except PeriodError as exc:
        raise FormValidationError([FieldError(exc.field, str(exc))]) from exc


def _model(params: dict[str, str]) -> Model:
    raw = params.get("model", Model.LINEAR.value)
    try:
        return Model(raw)
    except ValueError as exc:
        names = ", ".join(m.value for m in Model)
        raise FormValidationError([FieldError("model", f"must be one of {names}")]) from exc


def _choice(
    params: dict[str, str], name: str, allowed: list[str], default: str | None
) -> str | None:
    value = params.get(name, default)
    if value is not None and value not in allowed:
        raise FormValidationError([FieldError(name, f"must be one of {', '.join(allowed)}")])
    return value


def _answer(request: Request, body: dict[str, Any], name: str, params: dict[str, str]) -> Response:
    fmt = _choice(params, "format", ["json", "csv"], None)
    accept = (request.headers.get("accept") or "").lower()
    if fmt == "csv" or (fmt is None and CSV in accept and http.JSON not in accept):
        return http.csv_response(body.get("rows", []), name)
    rows = body.get("rows")
    # A report whose table is also one of its named parts (the overview's kpis) says it once.
    twice = any(v is rows for k, v in body.items() if k != "rows")
    return http.json_response(
        200, table.plain({k: v for k, v in body.items() if k != "rows" or not twice})
    )


Build = Callable[[Services, Period, dict[str, str]], dict[str, Any] | None]


def report(request: Request, svc: Services, name: str, build: Build) -> Response:
    authorize(request, svc)
    params = _params(request)
    body = build(svc, _period(svc, params), params)
    if body is None:
        raise NotFound(f"nothing to report for {name}")
    return _answer(request, body, name, params)


def overview(request: Request, svc: Services) -> Response:
    return report(request, svc, "overview", lambda s, p, _: s.reports.overview(p))


def funnel(request: Request, svc: Services) -> Response:
    def build(s: Services, p: Period, params: dict[str, str]) -> dict[str, Any]:
        by = _choice(params, "by", list(FUNNEL_BY), None)
        key = params.get("key")
        if by and key is None:
            raise FormValidationError([FieldError("key", f"name the {by} to show")])
        return s.reports.funnel(p, by, key)

    return report(request, svc, "funnel", build)


def cohorts(request: Request, svc: Services) -> Response:
    return report(request, svc, "cohorts", lambda s, p, _: s.reports.cohorts(p))


def campaigns(request: Request, svc: Services) -> Response:
    return report(request, svc, "campaigns", lambda s, p, q: s.reports.campaigns(p, _model(q)))


def campaign(request: Request, campaign_id: str, svc: Services) -> Response:
    return report(
        request,
        svc,
        f"campaign {campaign_id}",
        lambda s, p, q: s.reports.campaign(p, campaign_id, _model(q)),
    )


def channels(request: Request, svc: Services) -> Response:
    return report(request, svc, "channels", lambda s, p, q: s.reports.channels(p, _model(q)))


def emails(request: Request, svc: Services) -> Response:
    def build(s: Services, p: Period, params: dict[str, str]) -> dict[str, Any]:
        return s.reports.emails(p, str(_choice(params, "by", list(EMAIL_KINDS), "template")))

    return report(request, svc, "emails", build)


def journey(request: Request, journey_id: str, svc: Services) -> Response:
    return report(
        request, svc, f"journey {journey_id}", lambda s, p, _: s.reports.journey(p, journey_id)
    )


def sales(request: Request, svc: Services) -> Response:
    """A sales manager's key reads its own team's rows only."""

    def build(s: Services, p: Period, _: dict[str, str]) -> dict[str, Any]:
        caller = access.current(request)
        return s.reports.sales(p, caller.team if caller else None)

    return report(request, svc, "sales", build)


def broadcast(request: Request, broadcast_id: str, svc: Services) -> Response:
    def build(s: Services, p: Period, _: dict[str, str]) -> dict[str, Any]:
        return s.reports.broadcast(p, broadcast_id, s.broadcasts.status(broadcast_id))

    return report(request, svc, f"broadcast {broadcast_id}", build)
