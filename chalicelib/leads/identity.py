"""Who a submission is about: the normalised identity and the keys that find the contact."""

from __future__ import annotations

import re
from dataclasses import dataclass

from chalicelib import ids

VISITOR_ID = re.compile(r"^[A-Za-z0-9_.:-]{8,128}$")
VISITOR_ID_RULE = "must be 8-128 letters, digits or ._:-"
CLIENT_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
CLIENT_KEY_RULE = "must be 1-255 visible ASCII characters"


@dataclass(frozen=True)
class Identity:
    email: str | None = None
    phone: str | None = None
    visitor_id: str | None = None

    @property
    def primary(self) -> tuple[str, str] | None:
        """Email wins over phone: it is the identity people keep longest."""
        if self.email:
            return ("email", self.email)
        if self.phone:
            return ("phone", self.phone)
        return None

    def keys(self) -> list[str]:
        """The ContactKey items this identity claims, primary first."""
        out = []
        if self.email:
            out.append(f"email:{self.email}")
        if self.phone:
            out.append(f"phone:{self.phone}")
        if self.visitor_id:
            out.append(f"visitor:{self.visitor_id}")
        return out

    def derived_contact_id(self) -> str:
        primary = self.primary
        if primary is None:
            raise ValueError("an anonymous identity has no contact id")
        return ids.contact_id(*primary)


def visitor_partition(visitor_id: str) -> str:
    """Where an anonymous visitor's events live until the visitor is identified."""
    return f"visitor:{visitor_id}"
