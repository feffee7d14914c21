"""The commands in README.md and docs/ work as written, and what they print is what the docs
show, so the docs cannot drift from the code again.

Every `./leadflow` command in a code block or code span must parse, every `make` target must
exist, and no command may be written in a form a shell does not find (`leadflow` alone,
`.venv/bin/leadflow`). The transcripts (```text blocks of `$ ./leadflow ...` lines and their
output) and the ./leadflow lines of ```sh blocks are run, in order, in a copy of marketing/
and templates/; HTML comments set that copy up as the prose tells the reader to:

    <!-- docs-test {"write": "marketing/journeys/demo.yaml"} -->   the next block is that file
    <!-- docs-test {"append": "marketing/journeys/demo.yaml"} -->  ... is added to that file
    <!-- docs-test {"edit": "PATH", "old": "...", "new": "..."} -->  an edit the prose describes
    <!-- docs-test {"copy": "/tmp/try"} -->                        cp -r marketing templates there
    <!-- docs-test {"skip": "why"} -->                             the next block is not run

Paths under /tmp/ are taken inside the copy. `publish --local` runs against the test stack with
the samples published, as `make run` leaves it; `make run` itself and what needs it running
(curl) or an AWS account are left to tests/test_stack.py and to the reader.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import selectors
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from chalicelib.cli import main, parser
from tests.builders import ROOT

DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md"), ROOT / "bench" / "README.md"])
COMMAND = "./leadflow"
SUBCOMMANDS = "run|validate|simulate|journeys|preview|publish|keys"
# A command written so that a shell will not find it after `make run`.
UNREACHABLE = re.compile(rf"(?<![\w./-])leadflow ({SUBCOMMANDS})\b|\.venv/bin/leadflow")
MARKER = re.compile(r"^\s*<!-- docs-test (\{.*\}) -->\s*$")
FENCE = re.compile(r"^(\s*)```(\w*)\s*$")
SPAN = re.compile(r"`([^`\n]+)`")
MAKE = re.compile(r"\bmake ([a-z][\w-]*)")
NOT_RUN = {"run", "keys"}  # the stack itself, and keys that need a stack or AWS


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


def test_the_leadflow_script_runs_the_command_from_a_checkout():
    done = subprocess.run(
        [str(ROOT / "leadflow"), "validate", str(ROOT / "marketing")],
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok: ")


# --- running the transcripts ----------------------------------------------------------------

RUNNER = """
import contextlib, io, json, os, sys
from chalicelib.cli import main
for line in sys.stdin:
    job = json.loads(line)
    os.chdir(job["cwd"])
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(job["argv"])
        except SystemExit as exc:
            code = exc.code
    sys.__stdout__.write(json.dumps({"code": code, "out": out.getvalue(), "err": err.getvalue()}))
    sys.__stdout__.write("\\n")
    sys.__stdout__.flush()
"""


class Runner:
    """One warm interpreter that runs `leadflow` commands in turn (simulate changes the
    process's AWS settings, so not this one)."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", RUNNER],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.selector = selectors.DefaultSelector()
        assert self.proc.stdout is not None
        self.selector.register(self.proc.stdout, selectors.EVENT_READ)

    def run(self, argv: list[str], cwd: Path) -> tuple[int, str]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"argv": argv, "cwd": str(cwd)}) + "\n")
        self.proc.stdin.flush()
        assert self.selector.select(timeout=300), f"leadflow {argv} did not finish"
        answer = json.loads(self.proc.stdout.readline())
        return answer["code"], answer["err"] + answer["out"]

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


@pytest.fixture(scope="module")
def runner() -> Iterator[Runner]:
    warm = Runner()
    yield warm
    warm.close()


class Sandbox:
    """A copy of the samples, changed as the document tells the reader to change them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.fresh()

    def fresh(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        self.copy(self.root)

    def copy(self, where: Path) -> None:
        for folder in ("marketing", "templates"):
            shutil.copytree(ROOT / folder, where / folder)

    def path(self, name: str) -> Path:
        return self.root / name.lstrip("/")

    def argv(self, argv: list[str]) -> list[str]:
        return [str(self.path(a)) if a.startswith("/tmp/") else a for a in argv]

    def apply(self, op: dict[str, Any]) -> None:
        if op.get("fresh"):
            self.fresh()
        elif "copy" in op:
            self.copy(self.path(op["copy"]))
        elif "edit" in op:
            path = self.path(op["edit"])
            text = path.read_text(encoding="utf-8")
            assert op["old"] in text, f"docs-test edit: {op['old']!r} is not in {op['edit']}"
            path.write_text(text.replace(op["old"], op["new"], 1), encoding="utf-8")
        else:
            raise AssertionError(f"unknown docs-test marker {op}")


STAMP = re.compile(r"^\w{3} \d{4}-\d\d-\d\d \d\d:\d\d ")


def _tidy(text: str) -> str:
    """Lines without trailing blanks; a simulated timeline's lines of one minute in a fixed
    order, since the order of events recorded together is not what the docs are about."""
    lines = [line.rstrip() for line in text.strip("\n").splitlines()]
    out: list[str] = []
    group: list[str] = []
    for line in [*lines, ""]:
        stamp = STAMP.match(line)
        if group and not (stamp and line[: stamp.end()] == group[0][: stamp.end()]):
            out += sorted(group)
            group = []
        if stamp:
            group.append(line)
        elif line or out or group:
            out.append(line)
    return "\n".join(out).rstrip("\n")


def _publish_locally(argv: list[str], sandbox: Sandbox, capsys: Any) -> tuple[int, str]:
    """`publish --local` against the test stack, which holds the samples as `make run` does."""
    rest = [a for a in argv[1:] if a != "--local"]
    capsys.readouterr()
    code = main(["publish", *(rest or [str(sandbox.path("marketing"))])])
    captured = capsys.readouterr()
    return code, captured.err + captured.out


def _run(command: str, sandbox: Sandbox, runner: Runner, capsys: Any) -> tuple[int, str] | None:
    argv = _argv(command)
    if argv is None or argv[0] in NOT_RUN:
        return None
    argv = sandbox.argv(argv)
    if argv[0] == "publish":
        if "--local" not in argv:
            return None  # an AWS account's
        return _publish_locally(argv, sandbox, capsys)
    return runner.run(argv, sandbox.root)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_documented_commands_print_what_the_docs_show(doc, runner, svc, tmp_path, capsys):
    sandbox = Sandbox(tmp_path / "checkout")
    wrong: list[str] = []
    for item in _items(doc):
        if not isinstance(item, Block):
            sandbox.apply(item)
            continue
        marker = item.marker
        if "write" in marker or "append" in marker:
            path = sandbox.path(marker.get("write") or marker["append"])
            path.parent.mkdir(parents=True, exist_ok=True)
            before = path.read_text(encoding="utf-8") if "append" in marker else ""
            path.write_text(before + item.text, encoding="utf-8")
            continue
        if "skip" in marker:
            continue
        if item.lang == "text":
            for command, expected in _transcript(item):
                ran = _run(command, sandbox, runner, capsys)
                if ran is not None and _tidy(ran[1]) != _tidy(expected):
                    wrong.append(
                        f"{item.doc}:{item.line}: $ {command}\n--- the docs show\n"
                        f"{_tidy(expected)}\n--- it prints\n{_tidy(ran[1])}"
                    )
        elif item.lang in ("sh", "bash"):
            for line in _logical_lines(item.text):
                ran = _run(line.strip(), sandbox, runner, capsys)
                if ran is not None and ran[0] != 0:
                    wrong.append(f"{item.doc}:{item.line}: {line.strip()}\n{ran[1]}")

    assert not wrong, "\n\n".join(wrong)


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
        if f"`{r}`" not in text and not (r.endswith("DeadLetters") and "`*DeadLetters`" in text)
    ] == []
