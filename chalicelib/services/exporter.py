"""Export contacts (everyone, or a segment's or a list's members) to CSV or .xlsx.

The columns are the ones an import maps back without a mapping file (email, phone, tags and
each profile field by its own name), so an export imports back to the same contacts. CSV is
UTF-8 with a BOM by default, which is what makes Excel show Chinese; `gbk` writes GB18030 for
Excel on a Chinese Windows that was set up without UTF-8. Contacts are read 100 at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from chalicelib.contacts import sheet
from chalicelib.contacts.columns import EMAIL, PHONE, TAGS
from chalicelib.store.contacts import ContactStore
from chalicelib.store.segments import SegmentMembers

FIRST = ("name", "first_name", "last_name", "company", "job_title", "province", "city")
ENCODINGS = {"utf-8": "utf-8-sig", "gbk": "gb18030"}
BUILT_IN = (EMAIL, PHONE, TAGS, "stage", "score", "id", "created_at")
"""Columns every contact has, beside its profile fields."""
PAGE = 100


class ExportError(ValueError):
    """The export cannot be written as asked; the message names the option."""


@dataclass(frozen=True)
class Exported:
    rows: int
    columns: list[str]
    path: str


class Exporter:
    def __init__(self, contacts: ContactStore, members: SegmentMembers) -> None:
        self.contacts = contacts
        self.members = members

    def export(
        self,
        out: Path,
        *,
        segment: str | None = None,
        fields: Sequence[str] = (),
        encoding: str = "utf-8",
        progress: Callable[[int], None] = lambda n: None,
    ) -> Exported:
        """Write the contacts to `out` (.xlsx by its suffix, else CSV); `fields` picks and
        orders the columns (default: email, phone, tags and every profile field found)."""
        if encoding not in ENCODINGS:
            raise ExportError(f"--encoding: give one of {', '.join(ENCODINGS)}")
        suffix = out.suffix.lower()
        if suffix == ".xls":
            raise ExportError(f"{out.name}: .xls is Excel's old format; name it .xlsx or .csv")
        if suffix == ".xlsx" and encoding != "utf-8":
            raise ExportError("--encoding is for CSV: an .xlsx workbook holds any text as it is")
        columns = self._columns(segment, fields)

        def rows() -> Iterator[list[str]]:
            for n, contact in enumerate(self._contacts(segment), 1):
                progress(n)
                yield [_cell(contact, c) for c in columns]

        if suffix == ".xlsx":
            count = sheet.write_xlsx(out, columns, rows())
        else:
            with out.open("wb") as f:
                count = sheet.write_csv(f, columns, rows(), ENCODINGS[encoding])
        return Exported(count, columns, str(out))

    def _ids(self, segment: str | None) -> Iterator[str]:
        if segment is None:
            yield from self.contacts.all_ids()
        else:
            yield from (m.contact_id for m in self.members.all(segment))

    def _contacts(self, segment: str | None) -> Iterator[dict[str, Any]]:
        ids = self._ids(segment)
        while page := list(islice(ids, PAGE)):
            found = self.contacts.get_many(page)
            yield from (found[c] for c in page if c in found)

    def _columns(self, segment: str | None, fields: Sequence[str]) -> list[str]:
        """The columns asked for, each one a contact here has (a typo is an error, not an
        empty column); by default email, phone, every profile field in use and tags. A first
        pass finds the fields in use: names only, so memory stays small."""
        if fields and set(fields) <= set(BUILT_IN):
            return list(fields)
        names: set[str] = set()
        seen = False
        for contact in self._contacts(segment):
            seen = True
            names.update((contact.get("properties") or {}).keys())
        if fields:
            unknown = [f for f in fields if f not in names and f not in BUILT_IN]
            if unknown and seen:  # nobody to export: the header alone, whatever it names
                known = ", ".join([*BUILT_IN, *sorted(names)])
                raise ExportError(
                    f"--fields: no contact here has {unknown[0]!r} (there are {known})"
                )
            return list(fields)
        ordered = [n for n in FIRST if n in names] + sorted(names - set(FIRST))
        return [EMAIL, PHONE, *ordered, TAGS]


def _cell(contact: dict[str, Any], column: str) -> str:
    if column in (EMAIL, PHONE):
        return str(contact.get(column) or "")
    if column == TAGS:
        return ", ".join(sorted(contact.get("tags") or ()))
    if column in BUILT_IN:
        value = contact.get(column)
        return "" if value is None else str(value)
    value = (contact.get("properties") or {}).get(column)
    return "" if value is None else str(value)
