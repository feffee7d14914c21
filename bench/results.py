"""What one bench run measured, printed as a table with a verdict on each target."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.timing import Sample
from bench.wire import Call, breakdown

RATIO_TARGET = 0.40
MAX_CALLS = 2


@dataclass
class Results:
    new_lead: Sample = field(default_factory=lambda: Sample("handler: new lead"))
    repeat: Sample = field(default_factory=lambda: Sample("handler: repeat submission"))
    put: Sample = field(default_factory=lambda: Sample("raw PynamoDB put (PutItem)"))
    replay: Sample = field(default_factory=lambda: Sample("new lead's transaction, replayed"))
    new_calls: list[list[Call]] = field(default_factory=list)
    repeat_calls: list[list[Call]] = field(default_factory=list)
    first_read: list[Call] = field(default_factory=list)


@dataclass(frozen=True)
class Setting:
    """How the run was made, for the header: numbers mean little without it."""

    n: int
    batch: int
    title: str
    table_prefix: str
    form_cache_seconds: float


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _rows(res: Results) -> None:
    heads = ("rate/s", "mean ms", "p50 ms", "p95 ms", "CPU ms", "wait ms")
    print(f"{'':34}" + "".join(f"{head:>9}" for head in heads))
    for sample in (res.new_lead, res.repeat, res.put, res.replay):
        mean, cpu = sample.mean_ms(), sample.cpu_ms()
        cells = (mean, sample.percentile_ms(50), sample.percentile_ms(95), cpu, mean - cpu)
        print(f"{sample.label:34}{sample.rate:9.1f}" + "".join(f"{cell:9.2f}" for cell in cells))


def _calls(label: str, per_submission: list[list[Call]], prefix: str) -> int:
    """Print mean, max and per-operation means; return the max for the verdict."""
    counts = [len(calls) for calls in per_submission]
    ops = breakdown([call for calls in per_submission for call in calls], prefix)
    parts = ", ".join(f"{op} {total / len(counts):.2f}" for op, total in sorted(ops.items()))
    print(f"  {label:30}{sum(counts) / len(counts):6.2f}{max(counts):6d}   {parts}")
    return max(counts)


def report(res: Results, setting: Setting) -> int:
    """Print everything; return the exit status (1 when any target fails)."""
    tables = f"fresh tables every {setting.batch}" if setting.batch else "one set of tables"
    print(
        f"\n{setting.title}\n{setting.n} operations per row, {tables}; "
        "CPU = this thread's own work, wait = the rest (network and backend)\n"
    )
    _rows(res)
    ratio = res.new_lead.rate / res.put.rate
    share = res.new_lead.rate / res.replay.rate
    print(
        f"\nhandler new-lead rate / raw put rate        {ratio:6.2f}"
        f"   target >= {RATIO_TARGET:.2f}   {_verdict(ratio >= RATIO_TARGET)}"
        f"\nhandler new-lead rate / replayed transaction {share:5.2f}"
        "   diagnostic: share of a new lead's time spent in its transaction"
    )
    print("\nDynamoDB calls per submission (wire level)    mean   max   per operation")
    worst_new = _calls("new lead (form cached)", res.new_calls, setting.table_prefix)
    worst_repeat = _calls("repeat (form cached)", res.repeat_calls, setting.table_prefix)
    _calls("first-ever read of the form", [res.first_read], setting.table_prefix)
    print(
        "  The first read of a form costs one Query; the form is then cached for "
        f"{setting.form_cache_seconds:g} s\n  per process, so warm submissions pay none "
        "(the cold one above is not judged)."
    )
    checks = [
        (f"handler rate >= {RATIO_TARGET:.0%} of raw put ({ratio:.0%})", ratio >= RATIO_TARGET),
        (f"calls per new lead <= {MAX_CALLS} (max {worst_new})", worst_new <= MAX_CALLS),
        (f"calls per repeat <= {MAX_CALLS} (max {worst_repeat})", worst_repeat <= MAX_CALLS),
    ]
    print("\nTargets")
    for text, ok in checks:
        print(f"  {_verdict(ok)}  {text}")
    return 0 if all(ok for _, ok in checks) else 1
