"""One list of event types: chalicelib/events.py. No module spells one as a string, and
docs/events.md describes exactly the catalogue."""

from __future__ import annotations

import ast
import re

from chalicelib.events import CATALOGUE
from tests.builders import ROOT


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        for child in (
            getattr(node, "body", []) if isinstance(getattr(node, "body", None), list) else []
        ):
            if isinstance(child, ast.Expr) and isinstance(child.value, ast.Constant):
                found.add(id(child.value))
    return found


def test_no_module_spells_an_event_type_as_a_string():
    spelled = []
    for path in sorted((ROOT / "chalicelib").rglob("*.py")):
        if path == ROOT / "chalicelib" / "events.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = _docstrings(tree)
        spelled += [
            f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and node.value in CATALOGUE and id(node) not in docs
        ]

    assert spelled == []


def test_docs_events_lists_exactly_the_catalogue():
    page = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    documented = re.findall(r"^\| `([a-z_]+)` \|", page, re.M)

    assert documented == list(CATALOGUE)
