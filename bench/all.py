"""`make bench`: every bench in turn, then one table of every target met or missed, and
bench/results.json.

Each bench prints its own figures and ends with its targets, each line saying PASS or FAIL;
this runs each as `make bench` always has (a process of its own, its own emulator), shows its
output as it goes, and gathers those lines. A bench that crashes is a FAIL row of its own, so
nothing that misses is hidden.

    .venv/bin/python bench/all.py [capture tick ...]
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
BENCHES = (
    "capture",
    "tick",
    "render",
    "sender",
    "burst",
    "lead_cpu",
    "speed_to_lead",
    "segments",
    "import",
    "reports",
    "cost",
)
# Smaller than the benches' own defaults where a smaller run shows the same figure, so that
# make bench stays under 15 minutes on two cores: the import rate is the same at 10,000 rows
# as at 100,000 (bench/README.md), the sender's rate does not depend on how many, and the cost
# model's month at 40 contacts prices the same work per contact as at 80.
ARGS = {"import": ["--n", "10000"], "sender": ["--n", "300"], "cost": ["--contacts", "40"]}
VERDICT = re.compile(r"\b(PASS|FAIL)\b")


@dataclass
class Check:
    passed: bool
    target: str


@dataclass
class Outcome:
    bench: str
    seconds: float
    exit_status: int
    checks: list[Check] = field(default_factory=list)
    args: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.exit_status == 0 and all(c.passed for c in self.checks)


def checks_in(output: str) -> list[Check]:
    """Every line of a bench's output that gives a verdict, the verdict taken out."""
    found = []
    for line in output.splitlines():
        match = VERDICT.search(line)
        if match:
            text = " ".join(VERDICT.sub("", line, count=1).replace(": ", " ", 1).split())
            found.append(Check(match.group(1) == "PASS", text.strip(" :")))
    return found


def run(bench: str) -> Outcome:
    began = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / f"{bench}.py"), *ARGS.get(bench, [])],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    assert process.stdout is not None
    for line in process.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    status = process.wait()
    seconds = time.perf_counter() - began
    outcome = Outcome(bench, seconds, status, checks_in("".join(lines)), ARGS.get(bench, []))
    if status and all(c.passed for c in outcome.checks):
        outcome.checks.append(Check(False, f"exited with status {status}"))
    return outcome


def table(outcomes: list[Outcome]) -> str:
    rows = [f"{'bench':22}{'':6}target (measured)", "-" * 100]
    for o in outcomes:
        for n, check in enumerate(o.checks):
            name = f"{o.bench} ({o.seconds:.0f} s)" if n == 0 else ""
            rows.append(f"{name:22}{'PASS' if check.passed else 'FAIL':6}{check.target}")
    total = sum(len(o.checks) for o in outcomes)
    failed = sum(not c.passed for o in outcomes for c in o.checks)
    minutes = sum(o.seconds for o in outcomes) / 60
    rows += ["-" * 100, f"{total - failed} of {total} targets met, in {minutes:.1f} minutes"]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    chosen = argv if argv else list(BENCHES)
    unknown = sorted(set(chosen) - set(BENCHES))
    if unknown:
        print(f"no such bench: {', '.join(unknown)} (choose from {', '.join(BENCHES)})")
        return 2
    outcomes = []
    for bench in chosen:
        print(f"\n=== bench/{bench}.py {' '.join(ARGS.get(bench, []))} ===", flush=True)
        outcomes.append(run(bench))
    print("\n" + table(outcomes))
    RESULTS.write_text(
        json.dumps(
            {
                "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": f"{os.cpu_count()} CPUs, {platform.machine()}, "
                f"Python {platform.python_version()}",
                "benches": [asdict(o) | {"passed": o.passed} for o in outcomes],
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0 if all(o.passed for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
