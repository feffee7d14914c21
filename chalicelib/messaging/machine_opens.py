"""Opens that no person made: Apple Mail Privacy Protection fetches every image of every
email on delivery, and security gateways fetch them to scan. They are counted apart, so an
open rate means people.

Apple's proxy asks with the bare user agent `Mozilla/5.0` and nothing after it; the scanners
name themselves. A person's mail program sends a full user agent (or, for Gmail's image
proxy, one that names Google's proxy: Gmail fetches the image when the person opens it).
"""

from __future__ import annotations

APPLE_PROXY = "Mozilla/5.0"
SCANNERS = (
    "barracuda",
    "mimecast",
    "proofpoint",
    "ppops-",
    "symantec",
    "messagelabs",
    "trendmicro",
    "forcepoint",
    "bot",
    "spider",
    "crawler",
    "python-requests",
    "curl/",
    "wget/",
)


def is_machine(user_agent: str | None) -> bool:
    """Whether an open pixel's request came from a proxy or a scanner, not a reader."""
    text = (user_agent or "").strip()
    if not text or text == APPLE_PROXY:
        return True
    lowered = text.lower()
    return any(name in lowered for name in SCANNERS)
