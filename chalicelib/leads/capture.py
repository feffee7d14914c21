"""Turn a raw form post into a validated, normalised Submission (pure: no I/O)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib import ids, payload
from chalicelib.errors import FieldError, FormValidationError
from chalicelib.leads import attribution, normalise
from chalicelib.leads.form_language import FieldType, Form, FormField
from chalicelib.leads.identity import (
    CLIENT_KEY,
    CLIENT_KEY_RULE,
    VISITOR_ID,
    VISITOR_ID_RULE,
    Identity,
)
from chalicelib.leads.intake import idempotency_scope, payload_fingerprint

RawValue = str | list[str]
_TRUE = {"on", "true", "1", "yes", "y", "checked"}
_EXACT = 2.0**53
# Typed values get one spelling per look (NFKC); options, hidden values and prose keep theirs.
_TYPED = frozenset(
    {
        FieldType.TEXT,
        FieldType.EMAIL,
        FieldType.PHONE,
        FieldType.NUMBER,
        FieldType.COUNTRY,
        FieldType.URL,
    }
)


@dataclass(frozen=True)
class RequestMeta:
    """What the HTTP layer knows about the request besides its fields."""

    referer: str | None = None
    user_agent: str | None = None
    source_ip: str | None = None
    idempotency_key: str | None = None
    origin: str | None = None


@dataclass(frozen=True)
class Submission:
    form_id: str
    identity: Identity
    properties: dict[str, Any]
    touch: dict[str, Any]
    event_id: str
    occurred_at: datetime
    consent: dict[str, Any] | None = None
    idempotency_key: str | None = None
    """Scoped to the form and the posting site (leads/intake.idempotency_scope)."""
    fingerprint: str | None = None
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Spam:
    """A honeypot was filled in: answer as if all went well, store nothing."""

    event_id: str


def raw_fields(data: Mapping[str, Any]) -> dict[str, RawValue]:
    """Flatten JSON or urlencoded input to strings and lists of strings. An object (or a list
    holding one) becomes a `Nested` mark, which `capture` refuses by name where it reads the
    key, with the other faults, and after the honeypot; it used to be kept as Python's text."""
    out: dict[str, RawValue] = {}
    for key, value in data.items():
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, dict | list) for v in values):
            out[str(key)] = Nested()
        elif isinstance(value, list):
            out[str(key)] = [_text(v) for v in value]
        else:
            out[str(key)] = _text(value)
    return out


class Nested(str):
    """An object where text was expected: empty to whatever reads it, refused by `capture`."""

    __slots__ = ()


NESTED_RULE = "must be text, a number or true/false (or a list of them), not an object"
READ_BESIDE_THE_FORM = (*attribution.TOUCH_FIELDS, "visitor_id", "event_id")
"""Keys capture reads that no form declares; any other undeclared key is ignored."""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _scalar(value: RawValue | None) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return value[-1] if value else ""
    return value


def _check_field(spec: FormField, raw: RawValue | None, region: str) -> Any:
    """Return the normalised value (None when empty) or raise ValueError with a message."""
    if spec.type is FieldType.MULTISELECT:
        values = [
            v.strip() for v in (raw if isinstance(raw, list) else [_scalar(raw)]) if v.strip()
        ]
        bad = [v for v in values if v not in (spec.options or [])]
        if bad:
            raise ValueError(f"{', '.join(bad)} not among the options")
        return values or None
    given = {v.strip() for v in raw if v.strip()} if isinstance(raw, list) else set()
    if spec.type is not FieldType.CHECKBOX and len(given) > 1:
        # A checkbox may come twice (a hidden "no" before it, the HTML idiom): the last wins.
        raise ValueError("takes one value, not several")
    text = _scalar(raw)
    if spec.type is FieldType.CHECKBOX:
        return text.strip().lower() in _TRUE
    if spec.type is FieldType.HIDDEN and not text.strip() and spec.default is not None:
        text = spec.default
    if not text.strip():
        return None
    if spec.type in _TYPED:  # before the checks, so they see what is stored
        text = normalise.compatible(text)
    elif spec.type is FieldType.TEXTAREA:
        text = normalise.composed(text)
    if len(text) > spec.limit:
        raise ValueError(f"is longer than {spec.limit} characters")
    if normalise.has_markup(text):
        raise ValueError("must not contain HTML or script markup")
    value: Any
    match spec.type:
        case FieldType.EMAIL:
            value = normalise.email(text)
        case FieldType.PHONE:
            value = normalise.phone(text, region)
        case FieldType.NUMBER:
            value = _number(text, spec)
        case FieldType.SELECT:
            value = text.strip()
            if value not in (spec.options or []):
                raise ValueError("is not one of the options")
        case FieldType.COUNTRY:
            value = normalise.country(text)
        case FieldType.URL:
            value = text.strip()
            if not re.match(r"^https?://[^\s/$.?#][^\s]*$", value):
                raise ValueError("is not an http(s) URL")
        case FieldType.TEXTAREA:
            value = text.strip()
        case _:
            value = normalise.line(text)
    if spec.pattern and isinstance(value, str) and not re.fullmatch(spec.pattern, value):
        raise ValueError("has the wrong format")
    return value


def _number(text: str, spec: FormField) -> int | float:
    try:
        number = float(text.strip().replace(",", ""))
    except ValueError as exc:
        raise ValueError("is not a number") from exc
    if payload.number_fault(number):
        raise ValueError(payload.NUMBER_RULE)
    if spec.min is not None and number < spec.min:
        raise ValueError(f"must be at least {spec.min:g}")
    if spec.max is not None and number > spec.max:
        raise ValueError(f"must be at most {spec.max:g}")
    # A whole number becomes an int only while a float holds it exactly; beyond, the float's
    # own digits are what was meant (and an int of 1e45 would be 46 digits, past DynamoDB's 38).
    return int(number) if number.is_integer() and abs(number) <= _EXACT else number


def challenge(form: Form, fields: Mapping[str, RawValue]) -> tuple[str, dict[str, RawValue]]:
    """The CAPTCHA token (the widget's own field, or `captcha_token` from a script) and the
    fields without it: a token is spent once, so it must not be part of a retry's payload."""
    names = {"captcha_token", *(c.token_field for c in (form.captcha,) if c)}
    rest = {k: v for k, v in fields.items() if k not in names}
    tokens = [_scalar(fields.get(n)).strip() for n in sorted(names)]
    return next((t for t in tokens if t), ""), rest


def capture(
    form: Form, fields: Mapping[str, RawValue], meta: RequestMeta, now: datetime
) -> Submission | Spam:
    """Validate every field of the form at once, so the error names all bad fields."""
    event_id = ids.event_id(now)
    trap = fields.get(form.honeypot)
    if isinstance(trap, Nested) or _scalar(trap).strip():
        return Spam(event_id)
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    read = {*(spec.name for spec in form.fields), *READ_BESIDE_THE_FORM}
    errors += [
        FieldError(name, NESTED_RULE)
        for name, raw in fields.items()
        if isinstance(raw, Nested) and name in read
    ]
    for spec in form.fields:
        if isinstance(fields.get(spec.name), Nested):
            continue
        try:
            value = _check_field(spec, fields.get(spec.name), form.phone_region)
        except ValueError as exc:
            errors.append(FieldError(spec.name, str(exc)))
            continue
        if spec.required and value in (None, False, []):
            errors.append(FieldError(spec.name, "is required"))
        elif value is not None:
            values[spec.name] = value
    consent = _consent(form, fields, meta, now, errors)
    if consent is None or "sensitive" not in consent.get("purposes", {}):
        errors.extend(
            FieldError(spec.name, SENSITIVE_RULE)
            for spec in form.fields
            if spec.sensitive and _given(values.get(spec.name))
        )
    visitor_id = _scalar(fields.get("visitor_id")).strip() or None
    if visitor_id and not VISITOR_ID.match(visitor_id):
        errors.append(FieldError("visitor_id", VISITOR_ID_RULE))
    key = meta.idempotency_key or _scalar(fields.get("event_id")).strip() or None
    if key and not CLIENT_KEY.match(key):
        errors.append(FieldError("Idempotency-Key", CLIENT_KEY_RULE))
    if not values.get("email") and not values.get("phone") and not errors:
        missing = [n for n in ("email", "phone") if form.field(n)]
        errors.extend(FieldError(n, "an email or a phone number is required") for n in missing)
    if errors:
        raise FormValidationError(errors)
    identity = Identity(
        email=values.pop("email", None), phone=values.pop("phone", None), visitor_id=visitor_id
    )
    return Submission(
        form_id=form.id,
        identity=identity,
        properties=values,
        touch=attribution.touch(fields_view(fields), meta.referer, now, form.campaign, form.id),
        event_id=event_id,
        occurred_at=now,
        consent=consent,
        idempotency_key=f"{idempotency_scope('form', form.id, meta.origin)}:{key}" if key else None,
        fingerprint=payload_fingerprint(fields) if key else None,
        context={k: v for k, v in (("user_agent", meta.user_agent), ("ip", meta.source_ip)) if v},
    )


SENSITIVE_RULE = "is sensitive information: it needs your separate consent to be kept"


def _consent(
    form: Form,
    fields: Mapping[str, RawValue],
    meta: RequestMeta,
    now: datetime,
    errors: list[FieldError],
) -> dict[str, Any] | None:
    """What the visitor consented to: the email topics (the main box) and each purpose whose
    own box was ticked, each with its text, the notice's version, the time and the source."""
    if not form.consent:
        return None
    ask = form.consent
    record = {
        "version": ask.version,
        "at": now.isoformat(),
        "source": f"form:{form.id}",
        "ip": meta.source_ip,
    }
    granted = _ticked(fields, "consent")
    if ask.required and not granted:
        errors.append(FieldError("consent", "must be accepted"))
    purposes = {}
    for purpose in ask.purposes:
        if _ticked(fields, purpose.field):
            purposes[purpose.purpose] = {**record, "text": purpose.text}
        elif purpose.required:
            errors.append(FieldError(purpose.field, "must be accepted"))
    if not granted and not purposes:
        return None
    topics = list(ask.topics) if granted else []
    consent = {"topics": topics, **record, "text": ask.text if granted else None}
    return consent | ({"purposes": purposes} if purposes else {})


def _given(value: Any) -> bool:
    """Whether a field holds something (a 0 does; an unticked box or an empty list does not)."""
    return value is not None and value is not False and value != []


def _ticked(fields: Mapping[str, RawValue], name: str) -> bool:
    return _scalar(fields.get(name)).strip().lower() in _TRUE


def fields_view(fields: Mapping[str, RawValue]) -> dict[str, str]:
    return {k: _scalar(v) for k, v in fields.items() if k in attribution.TOUCH_FIELDS}
