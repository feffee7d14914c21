"""The contact fields sales may write: names as forms name them, values a rule can compare.

A name follows the contact field rule every form field follows (lower-case letters, digits
and underscores, starting with a letter), so it is one attribute of the profile and never a
path (`a.b[0]`) or nothing at all (`""`). Names a contact holds outside its profile (email,
phone, stage, score, tags, ...) are not fields: conditions read those, not a field of the
same name. A value is text, a storable number, true/false, or null to remove the field.
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib import payload
from chalicelib.conditions.evaluation import TOP_LEVEL
from chalicelib.errors import FieldError, FormValidationError
from chalicelib.leads.form_language import IDENT

MAX_TEXT = 2000
MAX_FIELDS = 50  # one write sets them all; DynamoDB caps an update's expression
NAME_RULE = "a field name is lower-case letters, digits and _, starting with a letter (max 63)"
_NAME = re.compile(IDENT)


def name_fault(name: Any) -> str | None:
    if not isinstance(name, str) or not _NAME.match(name):
        return NAME_RULE
    if name in TOP_LEVEL:
        return f"{name} is the contact's own, not a field"
    return None


def value_fault(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return f"must be text of at most {MAX_TEXT} characters" if len(value) > MAX_TEXT else None
    if isinstance(value, int | float):
        return payload.number_fault(value)
    return "must be text, a number, true/false or null"


def check(values: Any, field: str = "fields") -> dict[str, Any]:
    """The fields to write, or a 422 naming every bad one as `fields.<name>`."""
    if not isinstance(values, dict) or not values:
        raise FormValidationError([FieldError(field, "give an object of field: value")])
    if len(values) > MAX_FIELDS:
        raise FormValidationError([FieldError(field, f"at most {MAX_FIELDS} fields at a time")])
    errors = []
    for name, value in values.items():
        where = f"{field}.{payload.shown(str(name))}" if name else f'{field}.""'
        fault = name_fault(name) or value_fault(value)
        if fault:
            errors.append(FieldError(where, fault))
    if errors:
        raise FormValidationError(errors)
    return values
