"""Use case: a website posts a form. Validate, then record the lead once; answer fast."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.clock import Clock
from chalicelib.errors import FieldError, FormValidationError, NotFound
from chalicelib.events import FORM_SUBMITTED
from chalicelib.leads.capture import (
    RawValue,
    RequestMeta,
    Spam,
    Submission,
    capture,
    challenge,
)
from chalicelib.leads.form_language import Form
from chalicelib.leads.intake import Intake, Quota
from chalicelib.messaging.captcha import CaptchaVerifier
from chalicelib.store.contacts import ContactStore, Recorded
from chalicelib.store.content import ContentStore


@dataclass(frozen=True)
class Accepted:
    submission_id: str
    redirect: str
    replayed: bool = False
    contact_id: str | None = None
    created: bool = False


def load_form(content: ContentStore, form_id: str) -> Form:
    """The published form, parsed once per published body rather than once per request."""
    form = content.parsed("form", form_id, Form.model_validate)
    if form is None:
        raise NotFound(f"no published form {form_id!r}")
    return form


def thank_you_url(form: Form, public_url: str) -> str:
    redirect = form.thank_you.redirect or f"/forms/{form.id}/thank-you"
    return public_url + redirect if redirect.startswith("/") else redirect


def to_intake(sub: Submission, redirect: str, quota: Quota | None = None) -> Intake:
    props: dict[str, Any] = {"form_id": sub.form_id, "fields": sub.properties, **sub.context}
    if sub.consent:
        props["consent"] = sub.consent
    if sub.identity.visitor_id:
        props.update(visitor_id=sub.identity.visitor_id, identifies_visitor=True)
    return Intake(
        identity=sub.identity,
        event_type=FORM_SUBMITTED,
        event_id=sub.event_id,
        occurred_at=sub.occurred_at,
        source=f"form:{sub.form_id}",
        event_properties=props,
        touch=sub.touch,
        profile=sub.properties,
        consent=sub.consent,
        is_submission=True,
        idempotency_key=sub.idempotency_key,
        fingerprint=sub.fingerprint,
        response={"status": "accepted", "submission_id": sub.event_id, "redirect": redirect},
        quota=quota,
    )


def submit(
    form: Form,
    fields: dict[str, RawValue],
    meta: RequestMeta,
    *,
    clock: Clock,
    contacts: ContactStore,
    public_url: str,
    quota: Quota | None = None,
    captcha: CaptchaVerifier | None = None,
    charge: Callable[[], None] | None = None,
) -> Accepted:
    """Validate, check the form's challenge, record. `quota` counts a stored post against the
    form's limit in the same write; on a form with a challenge, `charge` counts every
    attempt before the provider is asked (a bot guessing tokens meets 429, not an endless
    run of verifications) and the quota is not counted again."""
    redirect = thank_you_url(form, public_url)
    token, fields = challenge(form, fields)
    result = capture(form, fields, meta, clock.now())
    if isinstance(result, Spam):
        return Accepted(result.event_id, redirect)
    if form.captcha is not None and charge is not None:
        charge()
        quota = None
    intake = to_intake(result, redirect, quota)
    recorded = _earlier(form, token, meta, intake, contacts, captcha) or contacts.record(intake)
    return Accepted(
        submission_id=recorded.response.get("submission_id", recorded.event_id),
        redirect=recorded.response.get("redirect", redirect),
        replayed=recorded.replayed,
        contact_id=recorded.contact_id,
        created=recorded.created,
    )


CAPTCHA_RULE = "the challenge was not passed: please try it again"


def _earlier(
    form: Form,
    token: str,
    meta: RequestMeta,
    intake: Intake,
    contacts: ContactStore,
    captcha: CaptchaVerifier | None,
) -> Recorded | None:
    """None when the post may be stored: the form has no challenge, or it was passed. A
    retry of a post already stored gets its first answer without asking the provider; a
    failed challenge is refused."""
    if form.captcha is None:
        return None
    earlier = contacts.earlier_answer(intake)  # a retry: answered as before, token or not
    if earlier is not None:
        return earlier
    if captcha is not None and captcha.check(form.captcha.provider, token, meta.source_ip).passed:
        return None
    raise FormValidationError([FieldError("captcha", CAPTCHA_RULE)])
