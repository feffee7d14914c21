"""What Leadflow accepts as data from outside: JSON and form values it can store and show.

A request's data is checked once, where it is parsed, so no route can forget. DynamoDB
stores UTF-8 text and bounded numbers: a lone surrogate (no UTF-8 can encode it), NaN,
Infinity, 1e400 or a 45-digit integer fail the write itself, after retries, as a 500. NUL and
the other C0/C1 controls can be stored but are invisible in a name and break the pages,
emails and CSVs that show it. Each is refused naming the field; tab, line feed and carriage
return stay allowed in values (a textarea is many lines), never in names.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import FieldError, FormValidationError, MalformedBody

# DynamoDB refuses an item nested more than 32 levels; a body may use them all only where it
# is not wrapped in anything (each use case may allow less, as /events properties do).
MAX_DEPTH = 32
# DynamoDB numbers: 38 significant digits, magnitudes from 1e-130 to below 1e126.
MAX_DIGITS = 38
_TOO_LARGE = 1e126
_TOO_SMALL = 1e-130
NUMBER_RULE = "must be a finite number of at most 38 digits, zero or from 1e-130 to below 1e126"

_NOT_IN_VALUES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_NOT_IN_NAMES = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


@dataclass(frozen=True)
class Unstorable:
    """A JSON integer with more digits than DynamoDB keeps, held so the walk can name it."""

    literal: str


def text_fault(value: str, *, name: bool = False) -> str | None:
    """Why `value` is not text Leadflow stores, or None when it is."""
    found = (_NOT_IN_NAMES if name else _NOT_IN_VALUES).search(value)
    if found is None:
        return None
    code = ord(found.group())
    if 0xD800 <= code <= 0xDFFF:
        return f"contains U+{code:04X}, half of a surrogate pair, which is not text"
    return f"contains the control character U+{code:04X}"


def number_fault(value: Any) -> str | None:
    """Why a parsed JSON number cannot be stored, or None when it can."""
    if isinstance(value, Unstorable):
        return NUMBER_RULE
    if isinstance(value, float):
        size = abs(value)
        if not math.isfinite(value) or size >= _TOO_LARGE or 0 < size < _TOO_SMALL:
            return NUMBER_RULE
    return None


def shown(name: str) -> str:
    """A name as an error may print it: each character that is not text escaped."""
    return _NOT_IN_NAMES.sub(lambda m: f"\\u{ord(m.group()):04x}", name)


def _where(path: str, key: str) -> str:
    return f"{path}.{shown(key)}" if path else shown(key)


def check(data: Any) -> None:
    """Refuse data nested past MAX_DEPTH (400), or holding text or numbers that cannot be
    stored (422 naming every such field, as `properties.colour` or `topics[2]`)."""
    errors: list[FieldError] = []
    todo: list[tuple[str, Any, int]] = [("", data, 0)]
    while todo:
        path, value, depth = todo.pop()
        if isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                raise MalformedBody(f"the JSON is nested more than {MAX_DEPTH} levels")
            children: list[tuple[str, Any, int]] = []
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, int):
                    children.append((f"{path}[{key}]", item, depth + 1))
                    continue
                fault = text_fault(key, name=True)
                if fault:
                    errors.append(FieldError(_where(path, key), f"the name {fault}"))
                else:
                    children.append((_where(path, key), item, depth + 1))
            todo.extend(reversed(children))
        elif isinstance(value, str):
            fault = text_fault(value)
            if fault:
                errors.append(FieldError(path or "body", fault))
        else:
            fault = number_fault(value)
            if fault:
                errors.append(FieldError(path or "body", fault))
    if errors:
        raise FormValidationError(errors)


def _integer(literal: str) -> int | Unstorable:
    digits = literal.lstrip("-").lstrip("0") or "0"
    return Unstorable(literal) if len(digits) > MAX_DIGITS else int(literal)


def loads(text: str) -> Any:
    """Parse JSON and check it (see `check`); malformed or too deep JSON is a 400."""
    try:
        data = json.loads(text, parse_int=_integer, parse_constant=float)
    except json.JSONDecodeError as exc:
        raise MalformedBody(
            f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    except RecursionError as exc:
        raise MalformedBody(f"the JSON is nested more than {MAX_DEPTH} levels") from exc
    check(data)
    return data
