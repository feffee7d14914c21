"""The JSON Schemas editors read from docs/schemas/ are the ones the code validates with (the
journey schema's own test is in test_journey_content.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.broadcasts import language as broadcasts
from chalicelib.segments import language as segments

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("kind", "schema"),
    [
        ("segment", segments.json_schema),
        ("broadcast", broadcasts.json_schema),
    ],
)
def test_the_published_schema_is_current(kind, schema):
    published = json.loads((ROOT / "docs" / "schemas" / f"{kind}.schema.json").read_text())
    assert published == schema(), (
        f"run: ./leadflow {kind}s schema > docs/schemas/{kind}.schema.json"
    )
