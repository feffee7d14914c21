"""The import contracts in pyproject.toml hold, and they bite: a pure module that imports an
AWS library, or a store module that reaches for the local stack, breaks them."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.builders import ROOT

LINT = str(Path(sys.executable).parent / "lint-imports")


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LINT, "--no-cache", "--config", str(tree / "pyproject.toml")],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _copy(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(
        ROOT / "chalicelib", tree / "chalicelib", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_contracts_hold_on_the_code_as_it_is(tmp_path):
    done = _lint(_copy(tmp_path))

    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("journeys/engine.py", "import boto3", "The domain"),
        ("leads/scoring.py", "import chalicelib.store.contacts", "The domain"),
        ("store/contacts.py", "import chalicelib.services.sales", "Layers"),
        ("services/sales.py", "import pynamodb", "Services write through the adapters"),
        ("store/contacts.py", "import chalicelib.local.stack", "Only the local stack"),
        ("events.py", "import chalicelib.store.models", "The kernel"),
        ("conditions/evaluation.py", "import chalicelib.journeys.engine", "The condition language"),
        ("lifecycle.py", "import chalicelib.leads.scoring", "The kernel"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(tmp_path, module, line, contract):
    tree = _copy(tmp_path)
    target = tree / "chalicelib" / module
    target.write_text(target.read_text() + f"\n{line}  # noqa\n")

    done = _lint(tree)

    assert done.returncode == 1
    flat = " ".join(done.stdout.split())  # the report wraps long contract names
    verdicts = dict(re.findall(r"(\S[^\n]*?) (KEPT|BROKEN)(?= |$)", flat))
    assert [v for name, v in verdicts.items() if contract in name] == ["BROKEN"], flat
