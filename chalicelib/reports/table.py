"""A report's rows as a table: JSON-ready values, nested figures flattened into columns
(`unconverted_revenue.CNY`), and text cells for CSV and the terminal. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any


def plain(value: Any) -> Any:
    """Decimals as JSON numbers (whole ones as integers), through lists and mappings."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            out.update({f"{key}.{sub}": v for sub, v in value.items()})
        else:
            out[key] = value
    return out


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


def tabulate(
    rows: Sequence[dict[str, Any]], columns: Sequence[str] = ()
) -> tuple[list[str], list[list[str]]]:
    """The header (the given columns, else every key in order of first appearance) and rows."""
    flat = [_flat(plain(r)) for r in rows]
    header = list(columns)
    if not header:
        for r in flat:
            header += [k for k in r if k not in header]
    return header, [[cell(r.get(h)) for h in header] for r in flat]


def text(header: list[str], rows: list[list[str]]) -> str:
    """Columns aligned for a terminal: text to the left, numbers to the right."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]

    def line(cells: list[str], numeric: list[bool]) -> str:
        parts = [
            c.rjust(w) if n else c.ljust(w) for c, w, n in zip(cells, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    numeric = [
        all(_is_number(r[i]) for r in rows if r[i]) and any(r[i] for r in rows)
        for i in range(len(header))
    ]
    return "\n".join([line(header, numeric), *(line(r, numeric) for r in rows)])


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
