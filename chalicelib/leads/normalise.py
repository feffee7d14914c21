"""Canonical forms of what people type: one spelling per email, phone and name."""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email

_SPACES = re.compile(r"\s+")
_MARKUP = re.compile(r"<\s*[A-Za-z!/?]")
COUNTRIES = frozenset(phonenumbers.SUPPORTED_REGIONS)


class InvalidValue(ValueError):
    """The value cannot be normalised; the message is safe to show the person who typed it."""


def compatible(value: str) -> str:
    """NFKC: one spelling for what looks the same, so `ａｄａ＠example.com` typed on a
    full-width keyboard is ada@example.com, and `＜script＞` is markup like `<script>`."""
    return unicodedata.normalize("NFKC", value)


def composed(value: str) -> str:
    """NFC: one encoding of each character, keeping what was typed (for free prose)."""
    return unicodedata.normalize("NFC", value)


def email(value: str) -> str:
    """NFKC, lower-cased, syntax-checked (no DNS lookup: capture must not wait on the
    network). The form compared and deduplicated is this one."""
    try:
        result = validate_email(compatible(value).strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidValue(str(exc)) from exc
    return result.normalized.lower()


def _remember_domains() -> None:
    """email-validator checks an address's domain (IDNA, the Unicode class of each character)
    on every call, and a list holds thousands of addresses at a few domains: the check was a
    tenth of an import's own time under a profiler. It is pure (errors are raised, never
    kept), so each domain's answer is remembered. The pinned version calls it by this
    module-level name."""
    module = sys.modules[validate_email.__module__]
    module.validate_email_domain_name = lru_cache(maxsize=4096)(module.validate_email_domain_name)


_remember_domains()


def phone(value: str, region: str) -> str:
    """E.164, reading numbers without a country code as local to `region`."""
    try:
        number = phonenumbers.parse(compatible(value), region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidValue("is not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidValue("is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def line(value: str) -> str:
    """A single-line text such as a name: trimmed, inner runs of white space made one space."""
    return _SPACES.sub(" ", value).strip()


def has_markup(value: str) -> bool:
    return bool(_MARKUP.search(value))


def country(value: str) -> str:
    code = compatible(value).strip().upper()
    if code not in COUNTRIES:
        raise InvalidValue("is not an ISO 3166 two-letter country code")
    return code
