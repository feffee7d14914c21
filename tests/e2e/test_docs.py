"""The commands in README.md and docs/ work as written, and what they print is what the docs
show, so the docs cannot drift from the code again. (How they are written, and the reading of
the blocks: tests/unit/test_docs.py.)

The transcripts (```text blocks of `$ ./leadflow ...` lines and their output) and the
./leadflow lines of ```sh blocks are run, in order, in a copy of marketing/ and templates/;
HTML comments set that copy up as the prose tells the reader to:

    <!-- docs-test {"write": "marketing/journeys/demo.yaml"} -->   the next block is that file
    <!-- docs-test {"write": "expo.csv", "encoding": "gbk"} -->    ... in that encoding
    <!-- docs-test {"append": "marketing/journeys/demo.yaml"} -->  ... is added to that file
    <!-- docs-test {"edit": "PATH", "old": "...", "new": "..."} -->  an edit the prose describes
    <!-- docs-test {"copy": "/tmp/try"} -->                        cp -r marketing templates there
    <!-- docs-test {"skip": "why"} -->                             the next block is not run
    <!-- docs-test {"leads": ["ada@example.com"]} -->             post whitepaper leads, as the
                                                                    prose's curl does
    <!-- docs-test {"later": {"minutes": 1}} -->                   time passes on the stack: the
                                                                    tick runs, the outbox fills

Paths under /tmp/ are taken inside the copy. `publish --local` (and `segments`,
`broadcasts`, `import`, `export`, `contacts` and `report` with --local) runs against the test
stack with the samples published, as `make run` leaves it; `make run` itself and what needs
it running (curl) or an AWS account are left to tests/e2e/test_stack.py and to the reader.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.cli import main
from tests.builders import ROOT
from tests.unit.test_docs import DOCS, Block, _argv, _items, _logical_lines, _transcript

NOT_RUN = {"run", "keys"}  # the stack itself, and keys that need a stack or AWS
# Run against the test stack:
LOCAL = (
    "publish",
    "segments",
    "broadcasts",
    "import",
    "export",
    "contacts",
    "report",
    "audit",
    "privacy",
)


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


def _locally(argv: list[str], sandbox: Sandbox, capsys: Any) -> tuple[int, str]:
    """`publish --local`, `segments ... --local` and `broadcasts ... --local` against the test
    stack, which holds the samples as `make run` does."""
    rest = [a for a in argv[1:] if a != "--local"]
    if argv[0] == "publish":
        rest = rest or [str(sandbox.path("marketing"))]
    capsys.readouterr()
    here = Path.cwd()
    os.chdir(sandbox.root)  # the files the prose names are in the reader's checkout
    try:
        code = main([argv[0], *rest])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
        print(exc.code, file=sys.stderr)
    finally:
        os.chdir(here)
    captured = capsys.readouterr()
    return code, captured.err + captured.out


def _run(command: str, sandbox: Sandbox, runner: Runner, capsys: Any) -> tuple[int, str] | None:
    argv = _argv(command)
    if argv is None or argv[0] in NOT_RUN:
        return None
    argv = sandbox.argv(argv)
    if argv[0] in LOCAL and argv[1:] != ["schema"]:
        if "--local" not in argv:
            return None  # an AWS account's
        return _locally(argv, sandbox, capsys)
    return runner.run(argv, sandbox.root)


def _on_the_stack(op: dict[str, Any], journeys: Any) -> bool:
    """What the prose has the reader do to the running stack: post leads, let time pass."""
    if "leads" in op:
        from chalice.test import Client

        from app import app
        from tests.builders import lead, post_json

        with Client(app, project_dir=str(ROOT)) as client:
            for email in op["leads"]:
                assert post_json(client, lead(email=email)).status_code == 201
    elif "later" in op:
        journeys.clock.advance(**op["later"])
    else:
        return False
    journeys.settle()
    journeys.deliver()
    journeys.settle()
    return True


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_documented_commands_print_what_the_docs_show(
    doc, runner, svc, journeys, tmp_path, capsys
):
    sandbox = Sandbox(tmp_path / "checkout")
    wrong: list[str] = []
    for item in _items(doc):
        if not isinstance(item, Block):
            if not _on_the_stack(item, journeys):
                sandbox.apply(item)
            continue
        marker = item.marker
        if "write" in marker or "append" in marker:
            path = sandbox.path(marker.get("write") or marker["append"])
            path.parent.mkdir(parents=True, exist_ok=True)
            before = path.read_text(encoding="utf-8") if "append" in marker else ""
            # A file in another encoding (a GBK CSV, as Chinese Excel saves one) says so.
            path.write_text(before + item.text, encoding=marker.get("encoding", "utf-8"))
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
