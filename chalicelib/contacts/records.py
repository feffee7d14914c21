"""One imported row as a contact record, normalised the way forms normalise, or the reasons
it is refused. A row is taken whole or not at all: a bad value rejects its row, never a part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chalicelib.contacts.columns import CONSENT, EMAIL, PHONE, TAGS, Mapping
from chalicelib.leads import normalise
from chalicelib.leads.fields import MAX_TEXT

_SURROGATE = re.compile("[\udc80-\udcff]")
_TAG_SPLIT = re.compile(r"[,;，；、|]+")
_TAG = re.compile(r"^[\w\- .:/&+]{1,60}$")
_YES = {"yes", "y", "true", "1", "x", "✓", "是", "同意", "已同意", "订阅", "已订阅", "ja", "oui"}
_NO = {"no", "n", "false", "0", "否", "不同意", "未同意", "退订", "不订阅", "nein", "non"}
MAX_TAGS = 50


def tag_fault(tag: str) -> str | None:
    """Why `tag` cannot be a tag (a file's, or one an import adds to everyone)."""
    return None if _TAG.match(tag) else "up to 60 letters, digits, spaces and -.:/&+"


@dataclass(frozen=True)
class Record:
    row: int
    email: str | None
    phone: str | None
    fields: dict[str, str]
    tags: frozenset[str]
    consent: bool | None
    """True or False only where the file says so; None where it says nothing."""

    @property
    def key(self) -> str:
        """The key that finds the contact: email, else phone (as forms do)."""
        return f"email:{self.email}" if self.email else f"phone:{self.phone}"

    def identity_keys(self) -> list[str]:
        return [
            k
            for k in (self.email and f"email:{self.email}", self.phone and f"phone:{self.phone}")
            if k
        ]


@dataclass(frozen=True)
class Rejection:
    row: int
    column: str
    value: str
    reason: str


def read_row(
    number: int, cells: list[str], header: list[str], mapping: Mapping, region: str | None
) -> Record | list[Rejection] | None:
    """The row's record, its rejections, or None for a blank row (Excel pads with them)."""
    if not any(c.strip() for c in cells):
        return None
    for index, raw in enumerate(cells):
        if "\n" in raw or "\r" in raw:
            title = header[index] if index < len(header) else f"column {index + 1}"
            why = (
                "holds a line break: a quote left open swallows the rows after it into this "
                "cell; close the quote (the value shows what it took)"
            )
            return [Rejection(number, title, raw.replace("\r", ""), why)]
        if _SURROGATE.search(raw):
            title = header[index] if index < len(header) else f"column {index + 1}"
            shown = _SURROGATE.sub("\ufffd", raw)
            why = "is not in the file's encoding (a row pasted from elsewhere?): fix the row"
            return [Rejection(number, title, shown, why)]
    values: dict[str, tuple[str, str]] = {}  # field -> (header, raw)
    for index, target in mapping.fields.items():
        raw = cells[index] if index < len(cells) else ""
        if raw.strip():
            values[target] = (header[index], raw)
    problems: list[Rejection] = []

    def reject(target: str, reason: str) -> None:
        title, raw = values[target]
        problems.append(Rejection(number, title, raw, reason))

    email = phone = None
    if EMAIL in values:
        try:
            email = normalise.email(values[EMAIL][1])
        except normalise.InvalidValue as exc:
            reject(EMAIL, str(exc))
    if PHONE in values:
        try:
            phone = normalise.phone(values[PHONE][1], region or "ZZ")
        except normalise.InvalidValue as exc:
            hint = "" if region else " (give +country code, or --phone-region for local numbers)"
            reject(PHONE, f"{exc}{hint}")
    if not problems and not email and not phone:
        title = next((header[i] for i, t in mapping.fields.items() if t in (EMAIL, PHONE)), "")
        problems.append(Rejection(number, title, "", "needs an email address or a phone number"))
    tags: set[str] = set()
    if TAGS in values:
        for tag in _TAG_SPLIT.split(normalise.compatible(values[TAGS][1])):
            tag = normalise.line(tag)
            if tag and tag_fault(tag):
                reject(TAGS, f"tag {tag!r}: {tag_fault(tag)}")
            elif tag:
                tags.add(tag)
        if len(tags) > MAX_TAGS:
            reject(TAGS, f"at most {MAX_TAGS} tags")
    consent = None
    if CONSENT in values:
        said = normalise.compatible(values[CONSENT][1]).strip().lower()
        if said in _YES:
            consent = True
        elif said in _NO:
            consent = False
        else:
            reject(CONSENT, "must be yes or no (是/否, true/false, 1/0, y/n)")
    fields: dict[str, str] = {}
    for target, (_title, raw) in values.items():
        if target in (EMAIL, PHONE, TAGS, CONSENT):
            continue
        text = normalise.line(normalise.composed(raw))
        if len(text) > MAX_TEXT:
            reject(target, f"must be text of at most {MAX_TEXT} characters")
        elif normalise.has_markup(normalise.compatible(text)):
            reject(target, "must not contain markup (<...>)")
        elif any(ord(c) < 32 for c in text):
            reject(target, "must not contain control characters")
        else:
            fields[target] = text
    if problems:
        return problems
    return Record(number, email, phone, fields, frozenset(tags), consent)
