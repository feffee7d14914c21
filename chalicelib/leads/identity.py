"""Who a submission is about: the normalised identity and the keys that find the contact."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib import ids


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
