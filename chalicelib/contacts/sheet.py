"""Spreadsheets in and out: CSV (any separator Excel writes, any encoding it writes) and .xlsx.

Rows are streamed, never loaded: a 100,000-row file costs what one row costs. Row numbers are
the ones the spreadsheet shows (the header is row 1), so a rejected row can be found.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, BinaryIO

from chalicelib.contacts import encoding as encodings

CHUNK = 1 << 20
SEPARATORS = (",", ";", "\t")
_FORMULA = ("=", "@", "+", "-", "\t", "\r")
"""What a spreadsheet may run as a formula when a cell starts with it (CSV injection)."""


class SheetError(ValueError):
    """The file cannot be read as a spreadsheet; the message says why."""


@dataclass
class Sheet:
    header: list[str]
    rows: Iterator[tuple[int, list[str]]]
    """(row number, cells) for each row after the header."""
    kind: str
    encoding: str | None = None
    separator: str | None = None


def is_xlsx(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(4) == b"PK\x03\x04"


@contextmanager
def opened(path: Path, encoding: str | None = None) -> Iterator[Sheet]:
    """The sheet in `path`: .xlsx by its content, else CSV in the detected (or given) encoding."""
    if is_xlsx(path):
        with _xlsx(path) as sheet:
            yield sheet
        return
    name = encodings.known(encoding) if encoding else _detect(path)
    with path.open("rb") as raw:
        # Bytes that are not `name` become lone surrogates, and their row is rejected by
        # name (records.read_row) instead of stopping the file.
        text = io.TextIOWrapper(raw, encoding=name, errors="surrogateescape", newline="")
        try:
            first = text.readline()
        except UnicodeDecodeError as exc:
            raise SheetError(f"the file is not {name}: {exc.reason} at byte {exc.start}") from None
        if not first.strip():
            raise SheetError("the file is empty: give a header row, then one row per contact")
        separator = max(SEPARATORS, key=first.count)
        reader = csv.reader(_chain([first], text), delimiter=separator)
        header = next(reader)
        yield Sheet(header, _numbered(reader, name), "csv", name, separator)


def _detect(path: Path) -> str:
    with path.open("rb") as f:
        return encodings.detect(iter(lambda: f.read(CHUNK), b""))


def _chain(first: list[str], rest: Iterable[str]) -> Iterator[str]:
    yield from first
    yield from rest


def _numbered(reader: Any, name: str) -> Iterator[tuple[int, list[str]]]:
    number = 1
    try:
        for cells in reader:
            number += 1
            yield number, [_unguard(c) for c in cells]
    except UnicodeDecodeError as exc:
        raise SheetError(
            f"row {number + 1}: the file is not {name} ({exc.reason}): "
            "pass --encoding with the right one"
        ) from None
    except csv.Error as exc:
        raise SheetError(f"row {number + 1}: {exc}") from None


@contextmanager
def _xlsx(path: Path) -> Iterator[Sheet]:
    from openpyxl import load_workbook  # only imports that read Excel pay for it

    # Opened here, not by name: openpyxl refuses a name without .xlsx, and a workbook is known
    # by its bytes (an upload without a name, a file saved as .csv by mistake).
    raw = path.open("rb")
    try:
        book = load_workbook(raw, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raw.close()
        raise SheetError(f"not a readable .xlsx file: {exc}") from None
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = [cell_text(v) for v in next(rows, ())]
        if not any(header):
            raise SheetError("the first sheet is empty: give a header row, then one per contact")

        def numbered() -> Iterator[tuple[int, list[str]]]:
            for number, values in enumerate(rows, 2):
                yield number, [_unguard(cell_text(v)) for v in values]

        yield Sheet(header, numbered(), "xlsx")
    finally:
        book.close()
        raw.close()


def cell_text(value: Any) -> str:
    """A cell as the text a person sees: 13800138000 rather than 13800138000.0."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _unguard(cell: str) -> str:
    """Undo `guard`: an export's quote before a formula-like value is not part of it."""
    if len(cell) > 1 and cell[0] == "'" and cell[1] in _FORMULA:
        return cell[1:]
    return cell


def guard(cell: str) -> str:
    """A value a spreadsheet would run as a formula gets a leading quote; a phone number
    (+8613800138000) or a negative number stays as it is."""
    if cell.startswith(_FORMULA) and not _numeric(cell):
        return "'" + cell
    return cell


def _numeric(cell: str) -> bool:
    return len(cell) > 1 and cell[0] in "+-" and cell[1:].replace(".", "", 1).isdigit()


def write_csv(out: BinaryIO, header: list[str], rows: Iterable[list[str]], name: str) -> int:
    """CSV in `name` (utf-8-sig so Excel shows Chinese; gb18030 for GBK); rows written."""
    text = io.TextIOWrapper(out, encoding=name, newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow([guard(h) for h in header])
    count = 0
    for row in rows:
        writer.writerow([guard(c) for c in row])
        count += 1
    text.flush()
    text.detach()
    return count


def write_xlsx(path: Path, header: list[str], rows: Iterable[list[str]]) -> int:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("contacts")
    sheet.append([guard(h) for h in header])
    count = 0
    for row in rows:
        sheet.append([guard(c) for c in row])  # text: a phone number is not a number here
        count += 1
    book.save(path)
    return count
