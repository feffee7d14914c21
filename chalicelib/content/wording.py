"""Schema errors in the author's terms: the path as written in the file, plain messages.

Pydantic reports where it looked, not what the author wrote: `entry.reentry.literal['never',
'always']`, `steps[0].wait.for` for `wait: 3 days`, one error per member of a union. Here a
path keeps only the keys the file has (or the one it lacks), and the members' complaints about
one value become one message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic_core import ErrorDetails

Loc = tuple[str | int, ...]

# A key an author can write; pydantic's own labels ("str", "list[str]", "ReentryAfter",
# "literal['never','always']", "send_email step") are not.
_KEY = re.compile(r"^[a-z_][a-z0-9_]*$")
_TYPE_LABELS = frozenset({"str", "int", "float", "bool", "dict", "list", "none"})

# What a pattern asks for, in words (the patterns are the ones the content models use).
_PATTERNS = {
    r"^[a-z0-9][a-z0-9-]{0,62}$": "use lower-case letters, digits and -, like case-study",
    r"^[a-z0-9][a-z0-9_-]{0,62}$": "use lower-case letters, digits, - and _, like vp-title",
    r"^[a-z][a-z0-9_]{0,62}$": "use lower-case letters, digits and _, like first_name",
    r"^https?://[^\s]+$": "must be an http:// or https:// URL",
    r"^https?://\S+$": "must be an http:// or https:// URL",
    r"^[A-Z]{2}$": "must be a two-letter country code, like US",
    r"^[^@\s]+@[^@\s]+\.[^@\s]+$": "must be an email address",
}


def holds(node: Any, part: str | int) -> bool:
    """Whether the YAML value `node` has the key or index `part`."""
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def author_loc(data: Any, loc: Iterable[str | int]) -> Loc:
    """The part of pydantic's `loc` that names what the file has, or the key it lacks."""
    out: list[str | int] = []
    node: Any = data
    missing = False
    for part in loc:
        if missing:
            if isinstance(part, int) or (_KEY.match(part) and part not in _TYPE_LABELS):
                out.append(part)
            continue
        if holds(node, part):
            out.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str):
            if _KEY.match(part) and part not in _TYPE_LABELS:
                out.append(part)  # a key the mapping should have
                missing = True
        elif not isinstance(node, dict | list):
            break  # the author wrote one value here; what pydantic made of it is internal
    return tuple(out)


def _message(err: ErrorDetails) -> str:
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        return "is not a known setting (check the spelling)"
    if kind == "missing":
        return "is required"
    if kind == "string_pattern_mismatch":
        pattern = str((err.get("ctx") or {}).get("pattern", ""))
        return _PATTERNS.get(pattern, f"does not have the expected form ({pattern})")
    msg = msg.removeprefix("Value error, ")
    if msg.startswith("Input should be "):
        return "should be " + msg.removeprefix("Input should be ")
    return msg


def _merge(messages: list[str]) -> str:
    """One value that no member of a union accepts: 'should be a valid string or a valid list'."""
    unique = list(dict.fromkeys(messages))
    if all(m.startswith("should be ") for m in unique):
        return "should be " + " or ".join(m.removeprefix("should be ") for m in unique)
    return "; or ".join(unique)


def complaints(data: Any, errors: Iterable[ErrorDetails]) -> list[tuple[Loc, str]]:
    """(path as written, message) per value the schema refused, in the order found."""
    grouped: dict[Loc, list[str]] = {}
    for err in errors:
        grouped.setdefault(author_loc(data, err["loc"]), []).append(_message(err))
    return [(loc, _merge(messages)) for loc, messages in grouped.items()]
