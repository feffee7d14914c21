"""The commands in README.md and docs/ are written so that they run: every `./leadflow`
command in a code block or code span must parse, every `make` target must exist, and no command
may be written in a form a shell does not find (`leadflow` alone, `.venv/bin/leadflow`).

The code blocks and their docs-test markers are read here; tests/e2e/test_docs.py runs them
and checks that they print what the docs show.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from chalicelib.cli import parser
from tests.builders import ROOT

DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md"), ROOT / "bench" / "README.md"])
COMMAND = "./leadflow"
SUBCOMMANDS = "run|validate|simulate|journeys|preview|publish|keys|segments"
# A command written so that a shell will not find it after `make run`.
UNREACHABLE = re.compile(rf"(?<![\w./-])leadflow ({SUBCOMMANDS})\b|\.venv/bin/leadflow")
MARKER = re.compile(r"^\s*<!-- docs-test (\{.*\}) -->\s*$")
FENCE = re.compile(r"^(\s*)```(\w*)\s*$")
SPAN = re.compile(r"`([^`\n]+)`")
MAKE = re.compile(r"\bmake ([a-z][\w-]*)")


@dataclass
class Block:
    doc: str
    line: int
    lang: str
    text: str
    marker: dict[str, Any] = field(default_factory=dict)


def _items(path: Path) -> Iterator[Block | dict[str, Any]]:
    """The document's code blocks and markers, in order; a block carries the marker before it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    pending: dict[str, Any] = {}
    i = 0
    while i < len(lines):
        marker = MARKER.match(lines[i])
        fence = FENCE.match(lines[i])
        if marker:
            op = json.loads(marker.group(1))
            if {"write", "append", "skip"} & set(op):
                pending = op
            else:
                yield op
        elif fence:
            indent, lang, start = fence.group(1), fence.group(2), i + 1
            body = []
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i].removeprefix(indent))
                i += 1
            yield Block(str(path.relative_to(ROOT)), start, lang, "\n".join(body) + "\n", pending)
            pending = {}
        i += 1


def _logical_lines(text: str) -> list[str]:
    """Lines with shell continuations (a trailing backslash) joined."""
    out: list[str] = []
    for line in text.splitlines():
        if out and out[-1].endswith("\\"):
            out[-1] = out[-1][:-1].rstrip() + " " + line.strip()
        else:
            out.append(line)
    return out


def _transcript(block: Block) -> list[tuple[str, str]]:
    """(command, expected output) pairs of a ```text block of `$ ...` lines."""
    pairs: list[tuple[str, list[str]]] = []
    lines = block.text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("$ "):
            command = line[2:]
            while command.endswith("\\") and i + 1 < len(lines):
                i += 1
                command = command[:-1].rstrip() + " " + lines[i].strip()
            pairs.append((command, []))
        elif pairs:
            pairs[-1][1].append(line)
        i += 1
    return [(c, "\n".join(out)) for c, out in pairs]


def _argv(command: str) -> list[str] | None:
    """The arguments of a `./leadflow ...` command, without comments and redirections."""
    if not command.startswith(COMMAND + " "):
        return None
    words = shlex.split(command, comments=True)
    if len(words) < 2 or words[0] != COMMAND:
        return None
    argv = words[1:]
    if ">" in argv:
        argv = argv[: argv.index(">")]
    return argv


def _commands(path: Path) -> Iterator[tuple[int, str, bool]]:
    """Every command the document shows: code block lines, whole, and code spans, which may
    name a command without its arguments (`./leadflow simulate`), but not usage lines."""
    for item in _items(path):
        if not isinstance(item, Block):
            continue
        if item.lang in ("sh", "bash"):
            for line in _logical_lines(item.text):
                yield item.line, line.strip(), True
        elif item.lang == "text":
            for command, _ in _transcript(item):
                yield item.line, command, True
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        for span in SPAN.findall(line):
            if not re.search(r"[\[\]|]|\b[A-Z]{3,}\b", span):
                yield number, span, False


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_command_is_written_so_that_it_runs_as_written(doc):
    text = doc.read_text(encoding="utf-8")
    makefile = (ROOT / "Makefile").read_text()

    unreachable = [m.group(0) for m in UNREACHABLE.finditer(text)]
    unknown_targets = [
        (n, t)
        for n, c, _ in _commands(doc)
        for t in MAKE.findall(c)
        if not re.search(rf"^{t}:", makefile, re.M)
    ]
    refused = []
    for number, command, whole in _commands(doc):
        argv = _argv(command) if command.startswith(COMMAND) else None
        if argv is None:
            continue
        with contextlib.redirect_stderr(io.StringIO()) as err:
            try:
                parser().parse_args(argv)
            except SystemExit:
                complaint = err.getvalue().strip().splitlines()[-1]
                if whole or "arguments are required" not in complaint:
                    refused.append((number, command, complaint))

    assert unreachable == [], f"write {COMMAND} instead"
    assert unknown_targets == []
    assert refused == []


def test_deployment_names_every_function_and_every_resource_infra_creates():
    from app import app
    from infra import template

    text = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    intro = text.split("\n\n")[1]
    functions = ["APIHandler"] + [
        f.name.capitalize() for f in [*app.pure_lambda_functions, *app.event_sources]
    ]
    resources = template.render("dev")["Resources"]

    assert [f for f in functions if f"`{f}`" not in intro] == []
    assert [
        r
        for r in resources
        if f"`{r}`" not in text
        and not any(r.endswith(tail) and f"`*{tail}`" in text for tail in ("DeadLetters", "Alarm"))
    ] == []
