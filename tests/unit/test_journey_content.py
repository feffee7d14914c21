"""Journey files: validation names file, line and field; the schema and graph work (the simulator
run as a process: tests/integration/test_journey_content.py)."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import jsonschema
import pytest
import yaml

from chalicelib.cli import main
from chalicelib.conditions.language import Weekday
from chalicelib.content import catalog
from chalicelib.journeys import calendar, language
from tests.builders import ROOT

SAMPLES = sorted((ROOT / "marketing" / "journeys").glob("*.yaml"))
BASE = """\
name: Test
trigger: {event: demo_requested}
steps:
"""


def _marketing(tmp_path: Path, steps: str, head: str = BASE) -> Path:
    root = tmp_path / "marketing"
    (root / "journeys").mkdir(parents=True)
    (root / "forms").mkdir()
    (root / "journeys" / "test.yaml").write_text(head + textwrap.dedent(steps), encoding="utf-8")
    return root


def _problems(tmp_path: Path, steps: str, head: str = BASE) -> list[str]:
    return [str(p) for p in catalog.load(_marketing(tmp_path, steps, head)).problems]


def test_the_five_sample_journeys_validate_and_cover_the_issue():
    content = catalog.load(ROOT / "marketing")
    assert content.problems == []
    assert set(content.journeys) == {
        "whitepaper",
        "newsletter-welcome",
        "birthday",
        "win-back",
        "onboarding",
    }


def test_the_published_json_schema_is_current_and_accepts_every_sample():
    published = json.loads((ROOT / "docs" / "schemas" / "journey.schema.json").read_text())
    assert published == language.json_schema(), "run: leadflow journeys schema > docs/schemas/..."
    for path in SAMPLES:
        assert path.read_text().startswith("# yaml-language-server: $schema=")
        jsonschema.validate(yaml.safe_load(path.read_text()), published)


def test_the_json_schema_refuses_a_step_without_an_action():
    schema = language.json_schema()
    bad = {"name": "x", "trigger": {"event": "a"}, "steps": [{"id": "a", "sned_email": {}}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        (
            """\
              - id: first
                sned_email: {template: t, subject: s}
            """,
            "journeys/test.yaml:4: steps[0]: a step needs exactly one action",
        ),
        (
            """\
              - id: first
                wait: 3 days
            """,
            "journeys/test.yaml:5: steps[0].wait: '3 days' is not a duration",
        ),
        (
            """\
              - id: first
                send_email: {subject: Hello}
            """,
            "journeys/test.yaml:5: steps[0].send_email.template: is required",
        ),
        (
            """\
              - id: first
                wait: 1d
                next: nowhere
            """,
            "journeys/test.yaml:6: steps[0].next: goes to step 'nowhere'",
        ),
        (
            """\
              - id: first
                end: {}
              - id: orphan
                wait: 1d
            """,
            "journeys/test.yaml:6: steps[1].id: step 'orphan' can never be reached",
        ),
        (
            """\
              - id: first
                update: {score: 1}
              - id: again
                update: {score: 1}
                next: first
            """,
            "steps loop without a wait",
        ),
        (
            """\
              - id: first
                wait: 1d
              - id: clicked
                wait_for: {event: email_clicked, where: {step: first}, timeout: 1d}
            """,
            "steps[1].wait_for.where.step: step 'first' sends no email",
        ),
        (
            """\
              - id: first
                enroll: nobody
            """,
            "journeys/test.yaml:5: steps[0].enroll: there is no journey 'nobody'",
        ),
        (
            """\
              - id: first
                branch:
                  cases:
                    - when: {field: country, equal: CN}
                      goto: first
            """,
            "steps[0].branch.cases[0].when.equal: is not a known setting",
        ),
    ],
)
def test_a_broken_journey_is_reported_with_file_line_and_field(tmp_path, steps, expected):
    problems = _problems(tmp_path, steps)
    assert any(expected in p for p in problems), problems


def test_an_unknown_time_zone_and_form_are_named(tmp_path):
    head = "name: T\ntimezone: Mars/Olympus\ntrigger:\n  event: form_submitted\n"
    head += "  where: {form_id: nope}\nsteps:\n"
    problems = _problems(tmp_path, "  - id: a\n    wait: 1d\n", head)
    assert any("test.yaml:2: timezone: 'Mars/Olympus' is not a time zone" in p for p in problems)
    head = head.replace("Mars/Olympus", "Asia/Shanghai")
    problems = _problems(tmp_path / "again", "  - id: a\n    wait: 1d\n", head)
    assert any("trigger.where.form_id: there is no form 'nope'" in p for p in problems)


def test_validate_exits_1_and_prints_every_problem(tmp_path, capsys):
    root = _marketing(tmp_path, "  - id: a\n    wait: soon\n  - id: b\n    enroll: ghost\n")
    assert main(["validate", str(root)]) == 1
    err = capsys.readouterr().err
    assert "'soon' is not a duration" in err and "problem(s) in 1 file(s)" in err


def test_graph_prints_a_mermaid_flowchart_of_every_step_and_path(capsys):
    assert main(["journeys", "graph", "whitepaper", "--path", str(ROOT / "marketing")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("flowchart TD")
    assert "s_clicked_case_study -->|email_clicked| s_demo_offer" in out
    assert "s_clicked_case_study -->|after 3d| s_nurture_roi" in out
    assert 's_engaged_later{"engaged-later<br/>branch"}' in out


@pytest.mark.parametrize(
    ("local", "quiet", "expected"),
    [
        ("2026-01-05 23:30", ("21:00", "08:00"), "2026-01-06 08:00"),
        ("2026-01-05 07:59", ("21:00", "08:00"), "2026-01-05 08:00"),
        ("2026-01-05 12:00", ("21:00", "08:00"), "2026-01-05 12:00"),
        ("2026-01-05 12:30", ("12:00", "13:00"), "2026-01-05 13:00"),
    ],
)
def test_quiet_hours_move_a_send_to_their_end(local, quiet, expected):
    zone = ZoneInfo("Asia/Shanghai")
    at = datetime.fromisoformat(local).replace(tzinfo=zone)
    window = language.QuietHours(start=quiet[0], end=quiet[1])
    moved = calendar.next_send_window(at.astimezone(UTC), zone, window, None)
    assert moved.astimezone(zone).strftime("%Y-%m-%d %H:%M") == expected


def test_a_weekday_wait_keeps_local_time_across_a_daylight_saving_change():
    zone = ZoneInfo("Europe/Berlin")
    friday = datetime(2026, 3, 27, 12, 0, tzinfo=zone)  # clocks go forward on Sunday 29 March
    monday = calendar.next_weekday_at(friday.astimezone(UTC), zone, [Weekday.MON], time(9))
    assert monday.astimezone(zone).isoformat() == "2026-03-30T09:00:00+02:00"


def test_a_29_february_birthday_is_kept_on_28_february_in_common_years():
    zone = ZoneInfo("UTC")
    after = datetime(2027, 1, 1, tzinfo=UTC)
    assert calendar.next_date_at(after, zone, "2000-02-29", time(9), yearly=True) == datetime(
        2027, 2, 28, 9, tzinfo=UTC
    )
