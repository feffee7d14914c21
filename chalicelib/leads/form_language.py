"""The form definition language: what a marketer writes in marketing/forms/*.yaml."""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from chalicelib.conditions.language import Duration, Strict
from chalicelib.conditions.patterns import Regex
from chalicelib.consent import PURPOSES, Purpose
from chalicelib.leads import downloads

IDENT = r"^[a-z][a-z0-9_]{0,62}$"
SLUG = r"^[a-z0-9][a-z0-9-]{0,62}$"
IDENTITY_FIELDS = ("email", "phone")
RESERVED = {
    "consent",
    "visitor_id",
    "event_id",
    "referrer",
    "landing_page",
    "page_url",
    "captcha_token",
    *(f"consent_{purpose}" for purpose in PURPOSES),  # a purpose's own box
}


class FieldType(StrEnum):
    TEXT = "text"
    TEXTAREA = "textarea"
    EMAIL = "email"
    PHONE = "phone"
    NUMBER = "number"
    SELECT = "select"
    MULTISELECT = "multiselect"
    CHECKBOX = "checkbox"
    COUNTRY = "country"
    URL = "url"
    HIDDEN = "hidden"


class FormField(Strict):
    name: Annotated[str, Field(pattern=IDENT)]
    type: FieldType = FieldType.TEXT
    label: str | None = None
    required: bool = False
    placeholder: str | None = None
    help: str | None = None
    max_length: Annotated[int, Field(gt=0, le=20000)] | None = None
    pattern: Regex | None = None
    options: list[str] | None = None
    default: str | None = None
    min: float | None = None
    max: float | None = None
    # Sensitive personal information (health, religion, finances, precise location, a minor's
    # data: PIPL art. 28): stored only with the separate consent the form asks for it.
    sensitive: bool = False

    @model_validator(mode="after")
    def _options_match_type(self) -> FormField:
        has_options = self.type in (FieldType.SELECT, FieldType.MULTISELECT)
        if has_options and not self.options:
            raise ValueError(f"a {self.type} field needs options")
        if self.options and not has_options:
            raise ValueError("options are only for select and multiselect fields")
        if self.type is FieldType.EMAIL and self.name != "email":
            raise ValueError("the email field must be named 'email'")
        if self.type is FieldType.PHONE and self.name != "phone":
            raise ValueError("the phone field must be named 'phone'")
        return self

    @property
    def limit(self) -> int:
        if self.max_length:
            return self.max_length
        return 5000 if self.type is FieldType.TEXTAREA else 255

    @property
    def display_label(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()


class PurposeConsent(Strict):
    """A consent of its own, a checkbox of its own (PIPL's separate consent, 单独同意), for a
    purpose beyond marketing email; posted as `consent_<purpose>`."""

    purpose: Purpose
    text: Annotated[str, Field(min_length=1)]
    required: bool = False

    @property
    def field(self) -> str:
        return f"consent_{self.purpose}"


class Consent(Strict):
    """Consent asked by the form; recorded with time, source and the text's version."""

    text: Annotated[str, Field(min_length=1)]
    version: Annotated[str, Field(min_length=1)]
    required: bool = False
    topics: list[Annotated[str, Field(pattern=SLUG)]] = Field(default_factory=lambda: ["marketing"])
    purposes: list[PurposeConsent] = Field(default_factory=list)

    @field_validator("purposes")
    @classmethod
    def _once_each(cls, values: list[PurposeConsent]) -> list[PurposeConsent]:
        names = [v.purpose for v in values]
        if len(set(names)) != len(names):
            raise ValueError("each purpose may be asked once")
        return values

    def asks(self, purpose: str) -> bool:
        return any(p.purpose == purpose for p in self.purposes)


class Download(Strict):
    """What the thank-you page offers: a file published from marketing/assets/, or a URL
    (a file on a CDN, for one too big for the API to serve)."""

    label: Annotated[str, Field(min_length=1, max_length=80)]
    file: str | None = None
    url: str | None = None

    @field_validator("file")
    @classmethod
    def _servable(cls, value: str | None) -> str | None:
        if value is not None and not downloads.NAME.match(value):
            raise ValueError(f"names a file in marketing/assets/: {downloads.NAME_RULE}")
        if value is not None and downloads.file_type(value) is None:
            raise ValueError(f"the API serves only {downloads.TYPES_RULE} files")
        return value

    @field_validator("url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        parts = urlsplit(value or "")
        if value is not None and (
            parts.scheme != "https" or not parts.hostname or re.search(r"\s", value)
        ):
            raise ValueError("must be an https:// URL, like https://cdn.example.com/guide.pdf")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> Download:
        if (self.file is None) == (self.url is None):
            raise ValueError("give file (a file in marketing/assets/) or url, one of the two")
        return self


class ThankYou(Strict):
    redirect: str | None = None
    message: str = "Thank you! We will be in touch."
    title: str = "Thank you"
    download: Download | None = None

    @field_validator("redirect")
    @classmethod
    def _url_or_path(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^(https?://[^\s]+|/[^\s]*)$", value):
            raise ValueError("must be an http(s) URL or a path starting with /")
        return value


class RateLimit(Strict):
    """Posts one client address may make to the form in a window; the rest get 429."""

    max: Annotated[int, Field(ge=1, le=1_000_000)] = 60
    per: Annotated[Duration, Field(gt=timedelta(0), le=timedelta(days=1))] = timedelta(minutes=10)


class Captcha(Strict):
    """A challenge the hosted form shows and the API verifies with the provider before it
    stores anything (the secret is a deployment setting, never in marketing/)."""

    provider: Literal["turnstile", "recaptcha"]
    site_key: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_\-.]+$")]

    @property
    def token_field(self) -> str:
        """The field the provider's widget adds to the form it sits in."""
        return "cf-turnstile-response" if self.provider == "turnstile" else "g-recaptcha-response"

    @property
    def script(self) -> str:
        """The provider's widget, which the hosted form loads."""
        if self.provider == "turnstile":
            return "https://challenges.cloudflare.com/turnstile/v0/api.js"
        return "https://www.google.com/recaptcha/api.js"


class Form(Strict):
    id: Annotated[str, Field(pattern=SLUG)]
    name: Annotated[str, Field(min_length=1)]
    description: str | None = None
    highlights: list[str] = Field(default_factory=list)
    campaign: Annotated[str, Field(pattern=SLUG)] | None = None
    submit_label: str = "Submit"
    fields: Annotated[list[FormField], Field(min_length=1)]
    consent: Consent | None = None
    honeypot: Annotated[str, Field(pattern=IDENT)] = "website"
    phone_region: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "US"
    thank_you: ThankYou = ThankYou()
    allowed_origins: list[str] = Field(default_factory=list)
    language: str = "en"
    rate_limit: RateLimit = RateLimit()
    captcha: Captcha | None = None

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, values: list[str]) -> list[str]:
        for value in values:
            if value != "*" and not re.match(r"^https?://[^/\s]+$", value):
                raise ValueError(f"{value!r} is not an origin like https://www.example.com")
        return values

    @model_validator(mode="after")
    def _coherent(self) -> Form:
        names = [f.name for f in self.fields]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate field names: {', '.join(dupes)}")
        if not any(n in IDENTITY_FIELDS for n in names):
            raise ValueError("a form needs an email or a phone field to identify the lead")
        if self.honeypot in names:
            raise ValueError(f"honeypot {self.honeypot!r} must not also be a field")
        clash = sorted(RESERVED.intersection(names))
        if clash:
            raise ValueError(f"reserved field names: {', '.join(clash)}")
        sensitive = [f.name for f in self.fields if f.sensitive]
        if sensitive and not (self.consent and self.consent.asks("sensitive")):
            raise ValueError(
                f"sensitive fields ({', '.join(sensitive)}) need consent.purposes to ask for"
                " the sensitive purpose"
            )
        return self

    def field(self, name: str) -> FormField | None:
        return next((f for f in self.fields if f.name == name), None)

    def to_body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)
