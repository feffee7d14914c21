"""The layers hold: the package graph of chalicelib/ has no cycle, and the domain imports with
every AWS library blocked."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.builders import ROOT

# Prints the packages of one cycle of chalicelib/'s package graph, or nothing: run in a
# child so that a copied tree can be checked too.
CYCLE_FINDER = textwrap.dedent(
    """
    import collections, grimp
    graph = grimp.build_graph("chalicelib", cache_dir=None)
    def package(module):
        parts = module.split(".")
        return parts[1] if len(parts) > 1 else module
    edges = collections.defaultdict(set)
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.startswith("chalicelib.") and package(module) != package(imported):
                edges[package(module)].add(package(imported))
    state = {}
    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt, path + [nxt])):
                return found
        state[node] = "done"
    for start in sorted(list(edges)):
        if start not in state and (cycle := visit(start, [start])):
            print(" -> ".join(cycle))
            break
    """
)

DOMAIN = ("journeys", "leads", "rules", "segments", "conditions")
KERNEL = (
    "lifecycle",
    "contact_change",
    "effects",
    "consent",
    "events",
    "clock",
    "ids",
    "errors",
    "payload",
    "timeline",
)
BLOCKED_IMPORT = textwrap.dedent(
    f"""
    import importlib, importlib.abc, pkgutil, sys
    class Blocked(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("boto3", "botocore", "pynamodb"):
                raise ImportError(f"{{name}} is blocked")
    sys.meta_path.insert(0, Blocked())
    import chalicelib
    names = [f"chalicelib.{{k}}" for k in {KERNEL!r}]
    for package in {DOMAIN!r}:
        module = importlib.import_module(f"chalicelib.{{package}}")
        names += [m.name for m in pkgutil.walk_packages(module.__path__, module.__name__ + ".")]
    for name in names:
        importlib.import_module(name)
    print(len(names), "modules")
    """
)


def _run(script: str, tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_package_graph_has_no_cycle():
    done = _run(CYCLE_FINDER, ROOT)

    assert done.returncode == 0, done.stderr
    assert done.stdout == "", f"a package cycle: {done.stdout}"


def test_the_cycle_finder_finds_a_store_module_that_imports_a_service(tmp_path):
    shutil.copytree(
        ROOT / "chalicelib", tmp_path / "chalicelib", ignore=shutil.ignore_patterns("__pycache__")
    )
    contacts = tmp_path / "chalicelib" / "store" / "contacts.py"
    contacts.write_text(contacts.read_text() + "\nimport chalicelib.services.sales  # noqa\n")

    done = _run(CYCLE_FINDER, tmp_path)

    assert done.returncode == 0, done.stderr
    cycle = done.stdout.strip().split(" -> ")
    assert "store" in cycle and "services" in cycle, done.stdout


def test_every_domain_and_kernel_module_imports_with_the_aws_libraries_blocked():
    done = _run(BLOCKED_IMPORT, ROOT)

    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[0]) > 30, done.stdout


def test_the_blocked_import_catches_a_domain_module_that_imports_boto3(tmp_path):
    shutil.copytree(
        ROOT / "chalicelib", tmp_path / "chalicelib", ignore=shutil.ignore_patterns("__pycache__")
    )
    scoring = tmp_path / "chalicelib" / "leads" / "scoring.py"
    scoring.write_text(scoring.read_text() + "\nimport boto3  # noqa\n")

    done = _run(BLOCKED_IMPORT, tmp_path)

    assert done.returncode != 0
    assert "boto3 is blocked" in done.stderr
