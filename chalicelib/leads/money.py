"""Money as sales enters it: a bounded decimal amount and a three-letter currency code.

An amount is stored as text on the lead and as a number on the contact (`deal_value`, which
rules compare), so it must be a decimal a person could mean and a float can hold: from zero
to under a trillion, in at most four decimal places (the finest ISO 4217 minor unit).
Anything else (1e999999, NaN, true) is a 422 naming the field, before anything is written.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from chalicelib.errors import FieldError, FormValidationError

MAX_AMOUNT = Decimal(10) ** 12
MAX_PLACES = 4
AMOUNT_RULE = f"must be an amount from 0 to under {MAX_AMOUNT:,} with at most {MAX_PLACES} decimals"
_CURRENCY = re.compile(r"^[A-Za-z]{3}$")
DEFAULT_CURRENCY = "USD"


def amount(raw: Any, field: str = "amount") -> Decimal:
    """A JSON number or a decimal in text, within the bounds above."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise FormValidationError([FieldError(field, AMOUNT_RULE)])
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation as exc:
        raise FormValidationError([FieldError(field, AMOUNT_RULE)]) from exc
    if not value.is_finite() or not 0 <= value < MAX_AMOUNT:
        raise FormValidationError([FieldError(field, AMOUNT_RULE)])
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_PLACES:
        raise FormValidationError([FieldError(field, AMOUNT_RULE)])
    return value


def currency(raw: Any, field: str = "currency") -> str:
    """An ISO 4217-shaped code, upper-cased: `eur` is EUR."""
    if raw is None:
        return DEFAULT_CURRENCY
    if not isinstance(raw, str) or not _CURRENCY.match(raw):
        raise FormValidationError([FieldError(field, "must be a three-letter code such as EUR")])
    return raw.upper()
