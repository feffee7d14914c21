"""Canonical forms of what people type: one spelling per email, phone and name."""

from __future__ import annotations

import re
import unicodedata

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
