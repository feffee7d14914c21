"""Counted AWS usage turned into dollars: the arithmetic of bench/cost.py, kept free of I/O.

`Usage` adds up what the meter saw (request units, requests, messages) and scales; `Bill`
collects priced lines, each in a group, so totals per group (emails and journeys, leads,
tracked events, the dashboard, what every minute costs) come from the same numbers as the
grand total.
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.meter import Request

PRICES = Path(__file__).with_name("prices.toml")
GB = 1024**3


def load_prices(path: Path = PRICES) -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


@dataclass
class Usage:
    """AWS usage that scales with the work done."""

    read_units: float = 0.0
    write_units: float = 0.0
    dynamodb_requests: float = 0.0
    sqs_requests: float = 0.0
    ses_messages: float = 0.0

    @classmethod
    def of(cls, requests: Iterable[Request]) -> Usage:
        usage = cls()
        for r in requests:
            usage.read_units += r.read_units
            usage.write_units += r.write_units
            usage.dynamodb_requests += r.service == "dynamodb"
            usage.sqs_requests += r.service == "sqs"
            usage.ses_messages += r.messages if r.service in ("ses", "sesv2") else 0
        return usage

    def scaled(self, factor: float) -> Usage:
        return Usage(*(getattr(self, f.name) * factor for f in fields(self)))

    def __add__(self, other: Usage) -> Usage:
        return Usage(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def __sub__(self, other: Usage) -> Usage:
        """What is left of self after other, never below zero (a baseline taken off)."""
        return Usage(
            *(max(0.0, getattr(self, f.name) - getattr(other, f.name)) for f in fields(self))
        )


@dataclass(frozen=True)
class Line:
    group: str
    what: str
    quantity: float
    unit: str
    dollars: float


@dataclass
class Bill:
    prices: dict[str, Any]
    lines: list[Line] = field(default_factory=list)

    def add(self, group: str, what: str, quantity: float, unit: str, price: float) -> None:
        if quantity:
            self.lines.append(Line(group, what, quantity, unit, quantity * price))

    def usage(self, group: str, usage: Usage) -> None:
        """DynamoDB, SQS and SES for `usage`, priced."""
        aws = self.prices["aws"]
        ddb = aws["dynamodb"]
        self.add(group, "DynamoDB writes", usage.write_units, "WRU", ddb["write_request_unit"])
        self.add(group, "DynamoDB reads", usage.read_units, "RRU", ddb["read_request_unit"])
        self.add(group, "SQS requests", usage.sqs_requests, "requests", aws["sqs"]["request"])
        self.add(group, "SES emails", usage.ses_messages, "emails", aws["ses"]["email"])

    def lambda_(self, group: str, function: str, invocations: float, gb_seconds: float) -> None:
        prices = self.prices["aws"]["lambda"]
        self.add(
            group, f"Lambda {function} invocations", invocations, "invocations", prices["request"]
        )
        self.add(group, f"Lambda {function} compute", gb_seconds, "GB-s", prices["gb_second"])

    def total(self, *, without: str = "", group: str = "") -> float:
        return sum(
            line.dollars
            for line in self.lines
            if (not without or line.what != without) and (not group or line.group == group)
        )

    def by_group(self) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for line in self.lines:
            out[line.group] += line.dollars
        return dict(out)

    def by_service(self) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for line in self.lines:
            out[line.what.split()[0]] += line.dollars
        return dict(out)


def item_bytes(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it: attribute names plus values (wire format)."""
    return sum(len(name.encode()) + value_bytes(value) for name, value in item.items())


def value_bytes(value: dict[str, Any]) -> int:
    (kind, inner), *_ = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        digits = len(str(Decimal(inner)).lstrip("-").replace(".", "").lstrip("0")) or 1
        return (digits + 1) // 2 + 1
    if kind == "B":
        return len(inner) if isinstance(inner, bytes) else len(inner) * 3 // 4
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in inner)
    if kind == "NS":
        return sum(value_bytes({"N": n}) for n in inner)
    if kind == "BS":
        return sum(value_bytes({"B": b}) for b in inner)
    if kind == "L":
        return 3 + sum(1 + value_bytes(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_bytes(v) for k, v in inner.items())
    return 0
