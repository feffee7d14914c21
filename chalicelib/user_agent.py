"""A botocore client's User-Agent header, built once per set of features.

botocore builds the header again for every request, twice (once for the request and once
after its hooks have run, to name the features they used), from parts that are fixed for the
client: SDK, OS, Python, configuration. That was a twentieth of the pipeline worker's CPU.
Only the feature ids change from one request to another, so the header is remembered per set
of them, and each request still carries exactly the header botocore would have built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.context import get_context


def remember(client: Any) -> Any:
    """Have `client` build its User-Agent once per set of features; returns the client."""
    creator = client._user_agent_creator
    if getattr(creator.to_string, "remembered", False):
        return client
    creator.to_string = _remembered(creator, creator.to_string)
    return client


def _remembered(creator: Any, build: Callable[[], str]) -> Callable[[], str]:
    built: dict[tuple[frozenset[str], frozenset[str]], str] = {}

    def to_string() -> str:
        context = get_context()
        key = (
            frozenset(getattr(creator, "_client_features", None) or ()),
            frozenset(context.features) if context is not None else frozenset(),
        )
        header = built.get(key)
        if header is None:
            header = built[key] = build()
        return header

    to_string.remembered = True  # type: ignore[attr-defined]
    return to_string
