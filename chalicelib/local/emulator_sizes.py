"""Faster twins of ministack's per-value checks, with the same answers.

Each transaction item is measured two to ten times (its size against DynamoDB's 400 KB, then
again for the capacity it reports, old and new image, per index) and walked three more times
for its nesting depth, its numbers and its sets. ministack does each walk with a recursive
call per value, testing every type in turn; counted in instructions on a replayed import,
those walks were a third of its transaction work. Here the common shapes (a string, a number,
a map or list of them) take a short path, and anything else (a binary, a set, a value of the
wrong shape) goes to ministack's own function, so every answer is ministack's for every value
JSON can hold (tests/integration/test_emulator_sizes.py compares them). A number's size, its
validity and its canonical form depend only on its text, and an import repeats the same few
numbers: they are remembered, for texts no longer than a number needs.

Loaded by emulator_main.py, inside ministack's process; it imports nothing of Leadflow's.
"""

from __future__ import annotations

import functools
from typing import Any

_NUMBERS_REMEMBERED = 4_096
"""An import repeats a few numbers; a stream of leads brings new ones (expiry times) for ever,
so each remembered number is memory held: about 200 bytes for each of three functions, 40 MB
when 65,536 were kept, 2.5 MB now."""
_REMEMBERED_LENGTH = 64
"""A number has at most 38 digits; a longer text (leading zeros, say) is worked out each time."""


def _remembered(function: Any) -> Any:
    """`function` of a number's text, remembered for the texts of numbers."""
    cached = functools.lru_cache(maxsize=_NUMBERS_REMEMBERED)(function)

    def call(text: Any) -> Any:
        if type(text) is str and len(text) <= _REMEMBERED_LENGTH:
            return cached(text)
        return function(text)

    return call


def install() -> None:
    """Put the twins in place of ministack's functions (which they call for what they do not
    handle themselves)."""
    from ministack.services import dynamodb

    value_size = dynamodb._attribute_value_size
    number_size = _remembered(dynamodb._number_size_bytes)
    number_error = _remembered(dynamodb._number_error)
    value_error = dynamodb._attribute_value_error
    nesting = dynamodb._nesting_exceeded
    validate = dynamodb._validate_attribute_value
    canonical = _remembered(dynamodb._ddb_canonicalize_number)
    limit = dynamodb._DDB_MAX_NESTING_DEPTH

    def fast_value_size(value: Any) -> int:
        if type(value) is dict and len(value) == 1:
            for kind in value:  # the only key
                inner = value[kind]
                if kind == "S" and type(inner) is str:
                    return len(inner) if inner.isascii() else len(inner.encode("utf-8"))
                if kind == "M" and type(inner) is dict:
                    total = 3
                    for name, member in inner.items():
                        total += 1 + (len(name) if name.isascii() else len(name.encode("utf-8")))
                        total += fast_value_size(member)
                    return total
                if kind == "N" and type(inner) is str:
                    return number_size(inner)
                if kind == "L" and type(inner) is list:
                    total = 3
                    for member in inner:
                        if isinstance(member, dict):
                            total += 1 + fast_value_size(member)
                    return total
                if kind == "BOOL" or kind == "NULL":
                    return 1
        return value_size(value)

    def fast_item_size(item: Any) -> int:
        if not isinstance(item, dict):
            return 0
        total = 0
        for name, value in item.items():
            total += len(name) if name.isascii() else len(name.encode("utf-8"))
            total += fast_value_size(value)
        return total

    def fast_value_error(value: Any) -> str | None:
        if type(value) is dict and len(value) == 1:
            for kind in value:  # the only key
                inner = value[kind]
                if kind == "S" or kind == "BOOL" or kind == "NULL":
                    return None
                if kind == "N" and type(inner) is str:
                    return number_error(inner)
                if kind == "M" and type(inner) is dict:
                    return next(filter(None, map(fast_value_error, inner.values())), None)
                if kind == "L" and type(inner) is list:
                    return next(filter(None, map(fast_value_error, inner)), None)
        return value_error(value)

    def fast_nesting(value: Any, depth: int = 1) -> bool:
        if depth > limit:
            return True
        if type(value) is dict and len(value) == 1:
            for kind in value:  # the only key
                inner = value[kind]
                if kind == "M" and type(inner) is dict:
                    return any(fast_nesting(v, depth + 1) for v in inner.values())
                if kind == "L" and type(inner) is list:
                    return any(fast_nesting(v, depth + 1) for v in inner)
                if kind != "M" and kind != "L":
                    return False
        return nesting(value, depth)

    def fast_validate(attr_name: str, value: Any, _depth: int = 1) -> Any:
        """None for a valid value (its number made canonical in place, as ministack does),
        else ministack's own error response. The parameters keep ministack's names."""
        if _depth <= limit and type(value) is dict and len(value) == 1:
            for kind in value:  # the only key
                inner = value[kind]
                if kind == "S" and type(inner) is str:
                    return None
                if kind == "N" and type(inner) is str:
                    number = canonical(inner)
                    if number is not None:
                        value["N"] = number
                        return None
                elif kind == "M" and type(inner) is dict:
                    for member in inner.values():
                        error = fast_validate(attr_name, member, _depth + 1)
                        if error:
                            return error
                    return None
                elif kind == "L" and type(inner) is list:
                    for member in inner:
                        error = fast_validate(attr_name, member, _depth + 1)
                        if error:
                            return error
                    return None
                elif (kind == "BOOL" and type(inner) is bool) or (kind == "NULL" and inner is True):
                    return None
        return validate(attr_name, value, _depth)

    dynamodb._number_size_bytes = number_size
    dynamodb._attribute_value_size = fast_value_size
    dynamodb._item_size_bytes = fast_item_size
    dynamodb._attribute_value_error = fast_value_error
    dynamodb._nesting_exceeded = fast_nesting
    dynamodb._validate_attribute_value = fast_validate
