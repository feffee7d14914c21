"""Routes for forms: the public capture endpoint, its CORS preflight and the hosted pages."""

from __future__ import annotations

from typing import Any

from chalice import Response
from chalice.app import Request

from chalicelib import events, telemetry
from chalicelib.api import assets, form_errors, http, pages
from chalicelib.bootstrap import Services
from chalicelib.errors import FormValidationError, LeadflowError
from chalicelib.leads.attribution import TOUCH_FIELDS
from chalicelib.leads.capture import RequestMeta, raw_fields
from chalicelib.leads.form_language import Form
from chalicelib.services import submissions
from chalicelib.store.limits import Limit
from chalicelib.store.outage import is_outage


def _cors(request: Request, form: Form) -> dict[str, str]:
    origin = request.headers.get("origin")
    if origin and ("*" in form.allowed_origins or origin in form.allowed_origins):
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return {}


def limit_of(form: Form) -> Limit:
    return Limit(f"form:{form.id}", form.rate_limit.max, form.rate_limit.per)


def preflight(request: Request, form_id: str, svc: Services) -> Response:
    form = submissions.load_form(svc.content, form_id)
    headers = _cors(request, form)
    if not headers:
        return http.json_response(
            403, {"error": "origin_not_allowed", "message": "this origin may not post to the form"}
        )
    return Response(
        body="",
        status_code=204,
        headers={
            **headers,
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type, Idempotency-Key, Accept",
            "Access-Control-Max-Age": "600",
        },
    )


def submit(request: Request, form_id: str, svc: Services) -> Response:
    form = submissions.load_form(svc.content, form_id)
    cors = _cors(request, form)
    html = http.wants_html(request)
    fields: dict[str, Any] = {}
    try:
        fields = raw_fields(http.form_fields(request, svc.settings.max_body_bytes))
        meta = RequestMeta(
            referer=http.kept_header(request, "referer"),
            user_agent=http.kept_header(request, "user-agent"),
            source_ip=http.client_ip(request),
            idempotency_key=request.headers.get("idempotency-key"),
            origin=http.kept_header(request, "origin"),
        )
        accepted = submissions.submit(
            form,
            fields,
            meta,
            clock=svc.clock,
            contacts=svc.contacts,
            public_url=svc.settings.public_url,
            quota=svc.limiter.quota(
                limit_of(form), meta.source_ip, svc.clock.now(), meta.source_ip
            ),
            captcha=svc.captcha,
            charge=lambda: svc.limiter.enforce(
                limit_of(form), meta.source_ip, svc.clock.now(), meta.source_ip
            ),
        )
    except FormValidationError as err:
        telemetry.count("FormRefused")
        if html:
            page = _form_page(
                form,
                svc,
                values=_kept(fields),
                errors=form_errors.messages(form, err.fields),
                back=http.back_link(request, f"/forms/{form.id}"),
            )
            return http.html_response(err.status, page, cors)
        return http.json_response(err.status, err.body(), cors)
    except LeadflowError as err:
        return http.error_response(err, cors)
    except Exception as exc:
        if not is_outage(exc):
            raise
        return http.error_response(http.UNAVAILABLE, cors)  # readable by the page's script
    if html:
        return http.redirect(accepted.redirect, cors)
    body = {
        "status": "accepted",
        "submission_id": accepted.submission_id,
        "redirect": accepted.redirect,
    }
    return http.json_response(
        200 if accepted.replayed else 201,
        body,
        {**cors, "Idempotent-Replayed": str(accepted.replayed).lower()},
    )


def page(form_id: str, svc: Services) -> Response:
    form = submissions.load_form(svc.content, form_id)
    return http.html_response(200, _form_page(form, svc))


def _form_page(
    form: Form,
    svc: Services,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    back: str | None = None,
) -> str:
    """The hosted form; after a refused post, again with what was typed kept and each
    message beside its field, so the visitor fixes one thing instead of retyping all."""
    base = svc.settings.public_url
    language = "zh-CN" if form.language.startswith("zh") else "en"
    return pages.render(
        "form.html",
        form=form,
        lang=form.language,
        action=f"{base}/forms/{form.id}/submissions",
        events_url=f"{base}/events",
        values=values or {},
        errors=errors or {},
        summary=form_errors.SUMMARY[language],
        back=back,
        back_label=form_errors.BACK[language],
        carried=[k for k in (*TOUCH_FIELDS, "visitor_id") if (values or {}).get(k)],
    )


def _kept(fields: dict[str, Any]) -> dict[str, Any]:
    """What the visitor sent, as the page shows it again (lists stay lists: multiselects)."""
    return {k: v if isinstance(v, list) else str(v) for k, v in fields.items()}


def thank_you(form_id: str, svc: Services) -> Response:
    """The form's thank-you page, with its download when it offers one; a click on that is
    tracked as the visitor the hosted form recorded, so it joins the contact who submitted."""
    form = submissions.load_form(svc.content, form_id)
    base = svc.settings.public_url
    download = form.thank_you.download
    href = None
    if download is not None:
        href = assets.url(base, download.file) if download.file else download.url
    return http.html_response(
        200,
        pages.render(
            "thank_you.html",
            form=form,
            lang=form.language,
            download_href=href,
            events_url=f"{base}/events",
            downloaded=events.FILE_DOWNLOADED,
        ),
    )
