"""The dashboard's pages: the report services rendered as HTML (Jinja, no front-end build),
behind a login. Each page reads what its report reads; numbers link to the rows behind them
where there are rows (a campaign to its page, a journey to its steps, a stage to its
contacts)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from chalice import Response
from chalice.app import Request

from chalicelib import roles
from chalicelib.api import access, audit, http, pages
from chalicelib.api.admin import CURSOR, contact_view
from chalicelib.api.dashboard import charts, i18n, session, timeline
from chalicelib.bootstrap import Services
from chalicelib.contacts.listing import ContactFilter
from chalicelib.errors import Conflict, Forbidden, FormValidationError, LeadflowError, NotFound
from chalicelib.events import DEAL_LOST, DEAL_WON, OPPORTUNITY_CREATED, STAGE_CHANGED
from chalicelib.journeys import graph
from chalicelib.leads import ownership
from chalicelib.lifecycle import Stage
from chalicelib.reports.credit import Model
from chalicelib.reports.period import Period, PeriodError
from chalicelib.services.notices import display_name
from chalicelib.services.reports import EMAIL_KINDS, FUNNEL_BY

LOGIN_BODY_BYTES = 4096
NAV = (
    ("overview", "Overview"),
    ("funnel", "Funnel"),
    ("campaigns", "Campaigns"),
    ("channels", "Channels"),
    ("journeys", "Journeys"),
    ("emails", "Emails"),
    ("broadcasts", "Broadcasts"),
    ("segments", "Segments"),
    ("sales", "Sales"),
    ("contacts", "Contacts"),
)
SHORTCUTS = (7, 30, 90)


@dataclass
class View:
    """What every page needs: who is looking, in which language, for which period."""

    request: Request
    svc: Services
    who: session.Session
    lang: str
    period: Period
    query: dict[str, str]
    problem: str = ""

    @property
    def t(self) -> Callable[[str], str]:
        return i18n.translator(self.lang)

    @property
    def root(self) -> str:
        return root(self.svc)

    @property
    def shortcut(self) -> int | None:
        """The period as one of the shortcuts (the last 7, 30 or 90 days), to show it chosen:
        the default period is the last 30 days, though no shortcut was clicked."""
        days = (self.period.last - self.period.first).days + 1
        today = self.svc.clock.now().date()
        return days if self.period.last == today and days in SHORTCUTS else None

    def can(self, page: str) -> bool:
        """Whether this login may open a dashboard page (so a link to it is shown)."""
        return self.who.caller.may(access.DASHBOARD[page])

    def link(self, path: str, **params: Any) -> str:
        """A dashboard link that keeps the period (and any other parameters given)."""
        keep = {"from": self.period.first.isoformat(), "to": self.period.last.isoformat()}
        keep.update({k: str(v) for k, v in params.items() if v is not None})
        return f"{self.root}{path}?{urlencode(keep)}"

    def here(self, **changes: Any) -> str:
        """This page with some parameters changed (None drops one): the language switch,
        the period shortcuts, a model or a grouping."""
        query = {k: v for k, v in self.query.items() if k != "lang"}
        for key, value in changes.items():
            key = key.rstrip("_")  # from_=... for `from`
            if value is None:
                query.pop(key, None)
            else:
                query[key] = str(value)
        path = self.root + _below(self.request)
        return f"{path}?{urlencode(query)}" if query else path

    def render(self, template: str, section: str, status: int = 200, **context: Any) -> Response:
        nav = [(name, label) for name, label in NAV if self.who.caller.may(access.DASHBOARD[name])]
        html = pages.render(
            f"dashboard/{template}",
            v=self,
            t=self.t,
            lang=self.lang,
            section=section,
            nav=nav,
            outbox=self.svc.mailbox is not None,
            csrf=self.who.csrf(self.svc.signer),
            shortcuts=SHORTCUTS,
            **context,
        )
        headers = {"Cache-Control": "no-store", "X-Frame-Options": "DENY"}
        if self.query.get("lang") in i18n.LANGS:
            headers["Set-Cookie"] = session.lang_cookie(self.lang, self.root)
        return http.html_response(status, html, headers)


def _cookies(request: Request) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(request.headers.get("cookie") or "")
    except CookieError:
        return {}
    return {k: m.value for k, m in jar.items()}


def _lang(request: Request) -> str:
    query = request.query_params or {}
    return i18n.pick(
        query, _cookies(request).get(session.LANG_COOKIE), request.headers.get("accept-language")
    )


def _secure(svc: Services) -> bool:
    return svc.settings.public_url.startswith("https://")


def root(svc: Services) -> str:
    """Where the dashboard is: /dashboard, under the API's own path (an API Gateway stage,
    /api) when it has one."""
    return urlsplit(svc.settings.public_url).path.rstrip("/") + "/dashboard"


def _below(request: Request) -> str:
    """The page's path below the dashboard's root (/campaigns/x), whatever stage is before."""
    path = str(request.context.get("path") or "")
    at = path.find("/dashboard")
    return path[at + len("/dashboard") :] if at >= 0 else ""


def _to_login(request: Request, svc: Services) -> Response:
    back = root(svc) + _below(request)
    query = request.query_params or {}
    if query:
        back += "?" + urlencode(query)
    return http.redirect(f"{root(svc)}/login?" + urlencode({"next": back}))


def _period(svc: Services, query: dict[str, str]) -> tuple[Period, str]:
    today = svc.clock.now().date()
    days = query.get("days")
    if days in {str(d) for d in SHORTCUTS}:
        return Period(today - timedelta(days=int(days) - 1), today), ""
    try:
        return Period.of(query.get("from") or None, query.get("to") or None, today), ""
    except PeriodError as exc:
        return Period.of(None, None, today), f"{exc.field}: {exc}"


def view_of(request: Request, svc: Services) -> View | Response:
    who = session.current(
        svc.api_keys, svc.signer, _cookies(request).get(session.COOKIE), svc.clock.now()
    )
    if who is None:
        return _to_login(request, svc)
    query = dict(request.query_params or {})
    period, problem = _period(svc, query)
    return View(request, svc, who, _lang(request), period, query, problem)


# --- logging in and out ---------------------------------------------------------------------


def _safe_next(target: str | None, home: str) -> str:
    """Only a dashboard path: never another site (an open redirect after login), nor a line
    break into the Location header."""
    if (
        target
        and (target == home or target.startswith((home + "/", home + "?")))
        and "//" not in target
        and "\\" not in target
        and target.isprintable()
    ):
        return target
    return home


def login_page(request: Request, svc: Services, message: str = "", status: int = 200) -> Response:
    lang = _lang(request)
    html = pages.render(
        "dashboard/login.html",
        t=i18n.translator(lang),
        lang=lang,
        message=message,
        next=_safe_next((request.query_params or {}).get("next"), root(svc)),
        root=root(svc),
    )
    return http.html_response(
        status, html, {"Cache-Control": "no-store", "X-Frame-Options": "DENY"}
    )


def log_in(request: Request, svc: Services) -> Response:
    fields = http.form_fields(request, LOGIN_BODY_BYTES)
    key = fields.get("key")
    if not isinstance(key, str) or not key.strip():
        return login_page(request, svc, "Enter an API key.", 422)
    try:
        value = session.log_in(svc.api_keys, svc.signer, key, svc.clock.now())
    except session.LoginRefused as exc:
        return login_page(request, svc, str(exc), 403)
    wanted = fields.get("next") if isinstance(fields.get("next"), str) else None
    target = _safe_next(wanted, root(svc))
    cookie = session.cookie_header(value, _secure(svc), root(svc))
    return http.redirect(target, {"Set-Cookie": cookie})


def log_out(request: Request, svc: Services) -> Response:
    fields = http.form_fields(request, LOGIN_BODY_BYTES)
    who = session.current(
        svc.api_keys, svc.signer, _cookies(request).get(session.COOKIE), svc.clock.now()
    )
    token = fields.get("csrf")
    if who is not None and not (isinstance(token, str) and who.csrf_holds(svc.signer, token)):
        raise Forbidden("this form is out of date: reload the page and log out again")
    return http.redirect(
        f"{root(svc)}/login", {"Set-Cookie": session.cookie_header("", _secure(svc), root(svc), 0)}
    )


# --- pages ----------------------------------------------------------------------------------


def overview(v: View) -> Response:
    report = v.svc.reports.overview(v.period)
    days = report["days"]
    chart = charts.bars(days, report["series"]["contacts"], v.t("contacts"))
    leads = charts.bars(days, report["series"]["leads"], v.t("leads"), "#0f9d7a")
    return v.render("overview.html", "overview", report=report, chart=chart, leads_chart=leads)


def funnel(v: View) -> Response:
    by = v.query.get("by") if v.query.get("by") in FUNNEL_BY else None
    key = v.query.get("key") if by else None
    report = (
        v.svc.reports.funnel(v.period, by, key) if by and key else v.svc.reports.funnel(v.period)
    )
    stages = report["stages"]
    chart = charts.funnel(
        [v.t(s["stage"]) for s in stages], [s["count"] for s in stages], v.t("Funnel")
    )
    cohorts = v.svc.reports.cohorts(v.period)["rows"]
    return v.render(
        "funnel.html", "funnel", report=report, chart=chart, cohorts=cohorts, by=by, key=key or ""
    )


def _model(v: View) -> Model:
    raw = v.query.get("model", Model.LINEAR.value)
    return Model(raw) if raw in {m.value for m in Model} else Model.LINEAR


def campaigns(v: View) -> Response:
    model = _model(v)
    report = v.svc.reports.campaigns(v.period, model)
    return v.render("campaigns.html", "campaigns", report=report, model=model, models=list(Model))


def campaign(v: View, campaign_id: str) -> Response:
    model = _model(v)
    report = v.svc.reports.campaign(v.period, campaign_id, model)
    if report is None:
        raise NotFound(f"no campaign {campaign_id!r} in campaigns.yaml or in this period")
    stages = report["funnel"]
    chart = charts.funnel(
        [v.t(s["stage"]) for s in stages], [s["count"] for s in stages], v.t("Funnel")
    )
    return v.render(
        "campaign.html", "campaigns", report=report, model=model, models=list(Model), chart=chart
    )


def channels(v: View) -> Response:
    model = _model(v)
    report = v.svc.reports.channels(v.period, model)
    return v.render("channels.html", "channels", report=report, model=model, models=list(Model))


def journeys(v: View) -> Response:
    rows = []
    for compiled in v.svc.journeys.library.live():
        j = compiled.journey
        report = v.svc.reports.journey(v.period, j.id) or {}
        rows.append(
            {
                "id": j.id,
                "name": j.name,
                **{
                    k: report.get(k)
                    for k in ("entered", "completed", "exited", "converted", "conversion_rate")
                },
            }
        )
    return v.render("journeys.html", "journeys", rows=rows)


def journey(v: View, journey_id: str) -> Response:
    report = v.svc.reports.journey(v.period, journey_id)
    if report is None:
        raise NotFound(f"no journey {journey_id!r}")
    live = {c.id: c.journey for c in v.svc.journeys.library.live()}
    ways = graph.detours(live[journey_id]) if journey_id in live else {}
    return v.render("journey.html", "journeys", report=report, ways=ways, terminal=graph.TERMINAL)


def emails(v: View) -> Response:
    by = v.query.get("by") if v.query.get("by") in EMAIL_KINDS else "template"
    report = v.svc.reports.emails(v.period, by)
    return v.render("emails.html", "emails", report=report, by=by, kinds=list(EMAIL_KINDS))


def broadcasts(v: View) -> Response:
    return v.render("broadcasts.html", "broadcasts", rows=v.svc.broadcasts.list())


def broadcast(v: View, broadcast_id: str) -> Response:
    status = v.svc.broadcasts.status(broadcast_id)
    report = v.svc.reports.broadcast(v.period, broadcast_id, status)
    return v.render("broadcast.html", "broadcasts", report=report)


def segments(v: View) -> Response:
    book = v.svc.segments.book()
    rows = []
    for seg in sorted(book.segments.values(), key=lambda s: s.id) if book else []:
        size = v.svc.members.size(seg.id)
        sizes = v.svc.reports.segment_sizes(v.period, seg.id, size)
        days = [d.isoformat() for d in v.period.each_day()]
        rows.append(
            {
                "segment": seg,
                "size": size,
                "chart": charts.bars(days, sizes, seg.name or seg.id, "#7a4fd1"),
                "range": (min(sizes, default=0), max(sizes, default=0)),
            }
        )
    return v.render("segments.html", "segments", rows=rows)


def sales(v: View) -> Response:
    report = v.svc.reports.sales(v.period, v.who.caller.team)
    return v.render("sales.html", "sales", report=report)


def contacts(v: View) -> Response:
    stage = v.query.get("stage") if v.query.get("stage") in {s.value for s in Stage} else None
    lead = v.query.get("lead") if v.query.get("lead") in ownership.STATUSES else None
    wanted = ContactFilter(
        stage=stage,
        lead=lead,
        owner=v.query.get("owner") or None,
        tag=v.query.get("tag") or None,
        search=v.query.get("q") or None,
    )
    book = v.svc.segments.book()
    segment = v.query.get("segment")
    if segment and book and segment in book.segments:
        wanted = ContactFilter(**{**wanted.__dict__, "segment": segment})
    after = v.query.get("after") or None
    if after is not None and not CURSOR.fullmatch(after):
        after = None  # not a cursor this list gave: the first page
    page = v.svc.directory.page(wanted, v.who.caller, 50, after)
    audit.note(v.request, returned=len(page.contacts))
    entry = audit.entry_of(v.request, audit.actor_of(v.who.caller, "dashboard"), 200)
    audit.record(v.svc, entry)
    segments = sorted(book.segments) if book else []
    return v.render(
        "contacts.html",
        "contacts",
        page=page,
        stages=[s.value for s in Stage],
        lead_statuses=ownership.STATUSES,
        segments=segments,
        named=lambda row: display_name({**row, "properties": row}),
    )


def contact(v: View, contact_id: str, message: str = "", status: int = 200) -> Response:
    found = contact_view(v.svc, v.who.caller, contact_id, 200)
    events = found["timeline"]
    stages = [e for e in events if e["type"] == STAGE_CHANGED]
    deals = [e for e in events if e["type"] in (OPPORTUNITY_CREATED, DEAL_WON, DEAL_LOST)]
    return v.render(
        "contact.html",
        "contacts",
        found=found,
        named=display_name(found["contact"]),
        detail=timeline.detail,
        moment=timeline.moment,
        stages=stages,
        deals=deals,
        quote=quote,
        owners=_assignable(v),
        message=message,
        status=status,
    )


def _assignable(v: View) -> list[tuple[str, str]]:
    """Who this login may give a lead to (id, name): an admin anyone in routing.yaml, a sales
    manager its own team; nobody for other roles (the page shows no form)."""
    caller, routing = v.who.caller, v.svc.leads.routing()
    if routing is None or caller.role not in (roles.ADMIN, roles.SALES_MANAGER):
        return []
    teams = [t for t in routing.teams if caller.role == roles.ADMIN or t.id == caller.team]
    return [(m.id, f"{m.name} ({t.name or t.id})") for t in teams for m in t.members]


def assign(v: View, contact_id: str) -> Response:
    """The contact page's Assign form: the lead to the owner chosen, as POST /leads/{id}/assign
    does; back to the page (a redirect, so a reload posts nothing), or the page with why not."""
    try:
        fields = http.form_fields(v.request, v.svc.settings.max_body_bytes)
    except LeadflowError as exc:  # unreadable: the page again, with why
        return contact(v, contact_id, exc.message, exc.status)
    token = fields.get("csrf")
    if not (isinstance(token, str) and v.who.csrf_holds(v.svc.signer, token)):
        raise Forbidden("this form is out of date: reload the page and assign again")
    if not _assignable(v):
        raise Forbidden(f"a {v.who.caller.role} login cannot assign leads")
    body = {"owner": fields.get("owner") or None, "reason": fields.get("reason") or None}
    if isinstance(fields.get("was"), str):  # the owner the page showed ("": nobody)
        body["expected_owner"] = fields["was"]
    try:
        done = v.svc.sales.act(contact_id, "assign", body, v.who.caller)
    except (Conflict, FormValidationError) as exc:
        return contact(v, contact_id, exc.message, exc.status)
    audit.note(v.request, after={"event_id": done.event_id, "lead": done.lead})
    audit.record(v.svc, audit.entry_of(v.request, audit.actor_of(v.who.caller, "dashboard"), 303))
    return http.redirect(f"{v.root}/contacts/{quote(contact_id, safe='')}")


PAGES: dict[str, Callable[[View], Response]] = {
    "overview": overview,
    "funnel": funnel,
    "campaigns": campaigns,
    "channels": channels,
    "journeys": journeys,
    "emails": emails,
    "broadcasts": broadcasts,
    "segments": segments,
    "sales": sales,
    "contacts": contacts,
}
ITEMS: dict[str, Callable[[View, str], Response]] = {
    "broadcasts": broadcast,
    "campaigns": campaign,
    "journeys": journey,
    "contacts": contact,
}


def _shown(render: Callable[[], Response], request: Request) -> Response:
    """A refusal as a page with its status: a browser is reading."""
    try:
        return render()
    except (NotFound, Forbidden) as err:
        html = pages.render("problem.html", message=err.message)
        return http.html_response(err.status, html, {"Cache-Control": "no-store"})


def _refused(v: View, name: str) -> Response:
    """A page this login's role may not open: 403, inside the dashboard, with its menu."""
    label = v.t(dict(NAV)[name])
    message = v.t("A %s login cannot open the %s page.") % (v.who.caller.role, label)
    return v.render("forbidden.html", name, 403, message=message, period_form=False)


def home(request: Request, svc: Services) -> Response:
    """The first page this login may open: the overview, or a sales manager's sales page."""
    view = view_of(request, svc)
    if isinstance(view, Response):
        return view
    first = next(name for name, _ in NAV if view.can(name))
    return _shown(lambda: PAGES[first](view), request)


def page(request: Request, name: str, svc: Services) -> Response:
    return _shown(lambda: _page(request, name, svc), request)


def item(request: Request, name: str, item_id: str, svc: Services) -> Response:
    return _shown(lambda: _item(request, name, item_id, svc), request)


def _page(request: Request, name: str, svc: Services) -> Response:
    if request.method == "POST":
        if name == "login":
            return log_in(request, svc)
        if name == "logout":
            return log_out(request, svc)
        raise NotFound(f"nothing to post to at /dashboard/{name}")
    if name == "login":
        return login_page(request, svc)
    if name not in PAGES:
        raise NotFound(f"no dashboard page {name!r}")
    view = view_of(request, svc)
    if isinstance(view, Response):
        return view
    return PAGES[name](view) if view.can(name) else _refused(view, name)


def _item(request: Request, name: str, item_id: str, svc: Services) -> Response:
    if name not in ITEMS or (request.method == "POST" and name != "contacts"):
        raise NotFound(f"no dashboard page {name!r}")
    view = view_of(request, svc)
    if isinstance(view, Response):
        return view
    if not view.can(name):
        return _refused(view, name)
    if request.method == "POST":
        return assign(view, item_id)
    return ITEMS[name](view, item_id)
