"""Why two contacts may be one person (pure): the keys two such contacts share.

Exact email and phone already find the same contact at capture and import. These catch what
they cannot, and are only ever candidates for a person to merge:
- the same phone under two emails;
- the same name at the same company;
- addresses the mailbox provider delivers to one inbox: case, Gmail's dots, `+tags`;
- look-alike letters in the local part (Cyrillic `а` for Latin `a`), a typo or a trick.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

SAME_PHONE = "same phone"
SAME_NAME_COMPANY = "same name and company"
EMAIL_VARIANT = "same mailbox (dots or +tag)"
LOOK_ALIKE = "look-alike email"
REASONS = (SAME_PHONE, SAME_NAME_COMPANY, EMAIL_VARIANT, LOOK_ALIKE)

_DOTLESS = {"gmail.com", "googlemail.com"}
_COMPANY_SUFFIX = re.compile(
    r"\b(inc|incorporated|ltd|limited|llc|gmbh|ag|co|corp|corporation|sa|bv|plc)\b\.?$|"
    r"(有限责任公司|股份有限公司|有限公司|集团)$"
)
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)
# Letters of other scripts drawn like Latin ones (Unicode's confusables, the common part).
_CONFUSABLES = str.maketrans(
    {
        "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "і": "i",
        "ј": "j", "ѕ": "s", "ԁ": "d", "һ": "h", "к": "k", "м": "m", "т": "t", "в": "b",
        "н": "h", "ο": "o", "α": "a", "ν": "v", "ρ": "p", "τ": "t", "ι": "i", "κ": "k",
        "ε": "e", "ı": "i", "ℓ": "l",
    }
)  # fmt: skip


def fold(text: str) -> str:
    return _NOISE.sub("", unicodedata.normalize("NFKC", text).casefold())


def keys(contact: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(reason, key) pairs: two contacts with the same pair are candidates for that reason."""
    out: list[tuple[str, str]] = []
    if contact.get("phone"):
        out.append((SAME_PHONE, contact["phone"]))
    props = contact.get("properties") or {}
    name = props.get("name") or " ".join(
        str(p) for p in (props.get("first_name"), props.get("last_name")) if p
    )
    company = props.get("company")
    if name and company:
        out.append(
            (SAME_NAME_COMPANY, f"{fold(name)}|{fold(_COMPANY_SUFFIX.sub('', company.strip()))}")
        )
    email = contact.get("email")
    if email and "@" in email:
        local, _, domain = email.rpartition("@")
        mailbox = local.split("+", 1)[0]
        if domain in _DOTLESS:
            mailbox = mailbox.replace(".", "")
            domain = "gmail.com"
        out.append((EMAIL_VARIANT, f"{mailbox}@{domain}"))
        skeleton = unicodedata.normalize("NFKC", local).casefold().translate(_CONFUSABLES)
        out.append((LOOK_ALIKE, f"{skeleton}@{domain}"))
    return out


def worth_reporting(reason: str, contacts: list[Mapping[str, Any]]) -> bool:
    """An email key matters only when the addresses differ (equal ones are one contact)."""
    if reason in (EMAIL_VARIANT, LOOK_ALIKE):
        return len({c.get("email") for c in contacts}) > 1
    return True
