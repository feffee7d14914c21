"""`leadflow validate` reports every problem in one run, in the author's terms, with file:line."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from chalicelib.cli import main
from chalicelib.content import catalog
from tests.builders import ROOT

# Words of pydantic's, not of the files: union members, class names, type labels.
INTERNAL = re.compile(
    r"literal\[|\[str\]|str-enum|function-|ReentryAfter|WaitSpec|[a-z]+ (step|condition)\b\.|"
    r"Input should|Field required|Value error"
)


def _copy_samples(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "marketing", tmp_path / "marketing")
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    return tmp_path / "marketing"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _validate(root: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main(["validate", str(root)]) == 1
    return capsys.readouterr().err.splitlines()[:-1]


def test_mistakes_of_form_and_of_reference_in_several_files_are_all_reported_in_one_run(
    tmp_path, capsys
):
    root = _copy_samples(tmp_path)
    journeys = root / "journeys"
    _edit(journeys / "whitepaper.yaml", "timeout: 3d", "timeout: 3 days")
    _edit(journeys / "whitepaper.yaml", "on_timeout: nurture-roi", "on_timeout: nurture-rio")
    _edit(journeys / "win-back.yaml", "send_days:", "send_day:")
    _edit(journeys / "birthday.yaml", "timezone: Asia/Shanghai", "timezone: Asia/Beijing")
    _edit(journeys / "birthday.yaml", "template: birthday-offer", "template: birthday-ofer")

    lines = _validate(root, capsys)

    assert lines == [
        "marketing/journeys/birthday.yaml:14: timezone: 'Asia/Beijing' is not a time zone; "
        "use a name like Asia/Shanghai",
        "marketing/journeys/birthday.yaml:23: steps[1].send_email.template: "
        "there is no template templates/birthday-ofer.mjml",
        "marketing/journeys/whitepaper.yaml:38: steps[3].wait_for.timeout: '3 days' is not a "
        "duration; write a number and a unit (w, d, h, m, s), like 3d or 2h30m",
        "marketing/journeys/whitepaper.yaml:40: steps[3].wait_for.on_timeout: goes to step "
        "'nurture-rio', which this journey does not have",
        "marketing/journeys/win-back.yaml:12: send_day: is not a known setting (check the "
        "spelling)",
    ]


def _demo_problems(tmp_path: Path, text: str) -> list[str]:
    """What validate says of marketing/journeys/demo.yaml holding `text`, alone."""
    root = tmp_path / "marketing"
    (root / "journeys").mkdir(parents=True)
    (root / "journeys" / "demo.yaml").write_text(text)
    return [str(p) for p in catalog.load(root).problems]


def test_a_refused_value_does_not_hide_a_bad_goto_in_the_same_step(tmp_path):
    problems = _demo_problems(
        tmp_path,
        "name: Demo\n"
        "trigger: {event: demo_requested}\n"
        "steps:\n"
        "  - id: booked\n"
        "    wait_for:\n"
        "      event: demo_booked\n"
        "      timeout: 2 days\n"
        "      on_event: done\n"
        "      on_timeout: nudge\n"
        "  - id: nudge\n"
        "    wait: 1d\n",
    )

    assert problems == [
        "marketing/journeys/demo.yaml:7: steps[0].wait_for.timeout: '2 days' is not a duration;"
        " write a number and a unit (w, d, h, m, s), like 3d or 2h30m",
        "marketing/journeys/demo.yaml:8: steps[0].wait_for.on_event: goes to step 'done', "
        "which this journey does not have",
    ]


@pytest.mark.parametrize(
    ("head", "steps", "expected"),
    [
        (
            "entry: {reentry: 30 days}\n",
            "  - id: a\n    wait: 1d\n",
            "test.yaml:3: entry.reentry: '30 days' is not never, always or a period like 30d",
        ),
        (
            "",
            "  - id: a\n    wait: 3 days\n",
            "test.yaml:5: steps[0].wait: '3 days' is not a duration",
        ),
        (
            "",
            "  - id: a\n    wait_for: {event: 5, timeout: 1d}\n",
            "test.yaml:5: steps[0].wait_for.event: should be a valid string or a valid list",
        ),
        (
            "",
            "  - id: a\n    wait: {until: {weekday: funday}}\n",
            "test.yaml:5: steps[0].wait.until.weekday: should be 'mon', 'tue'",
        ),
        (
            "",
            "  - id: First\n    end: {}\n",
            "test.yaml:4: steps[0].id: use lower-case letters, digits and -, like case-study",
        ),
        (
            "",
            "  - id: a\n    send_email: {subject: Hi}\n",
            "test.yaml:5: steps[0].send_email.template: is required",
        ),
        (
            "exit_when:\n  - {not: {event: 7}}\n",
            "  - id: a\n    wait: 1d\n",
            "test.yaml:4: exit_when[0].not.event: should be a valid string or a valid list",
        ),
        (
            "",
            "  - id: a\n    branch:\n      cases:\n        - when: {all: [{field: x, equal: 1}]}\n"
            "          goto: a\n",
            "test.yaml:7: steps[0].branch.cases[0].when.all[0].equal: is not a known setting",
        ),
    ],
)
def test_a_schema_error_names_the_path_as_written_and_no_internals(tmp_path, head, steps, expected):
    root = tmp_path / "marketing"
    (root / "journeys").mkdir(parents=True)
    (root / "journeys" / "test.yaml").write_text(
        f"name: T\ntrigger: {{event: demo_requested}}\n{head}steps:\n{steps}"
    )

    problems = [str(p) for p in catalog.load(root).problems]

    assert any(expected in p for p in problems), problems
    assert not [p for p in problems if INTERNAL.search(p)], problems


def test_a_template_syntax_error_names_its_line_and_no_journey_calls_the_template_missing(
    tmp_path, capsys
):
    root = _copy_samples(tmp_path)
    _edit(
        tmp_path / "templates" / "win-back.mjml",
        '{{ contact.first_name | default("there") }}',
        '{{ contact.first_name | default("there") }',
    )

    lines = _validate(root, capsys)

    assert lines == ["templates/win-back.mjml:7: template syntax: unexpected '}'"]


def test_a_block_left_open_is_named_at_the_line_it_opens(tmp_path, capsys):
    root = _copy_samples(tmp_path)
    _edit(
        tmp_path / "templates" / "win-back.mjml", "[% block body %]", "[% block body %]{% if x %}"
    )

    lines = _validate(root, capsys)

    assert lines == [
        "templates/win-back.mjml:3: template syntax: {% if %} is never closed: add {% endif %}"
    ]


def test_a_reference_to_a_journey_or_form_with_problems_of_its_own_is_not_called_missing(
    tmp_path, capsys
):
    root = _copy_samples(tmp_path)
    _edit(root / "forms" / "whitepaper.yaml", "name:", "nmae:")
    (root / "journeys" / "chain.yaml").write_text(
        "name: Chain\ntrigger: {event: form_submitted, where: {form_id: whitepaper}}\n"
        "steps:\n  - id: next-journey\n    enroll: broken\n"
    )
    (root / "journeys" / "broken.yaml").write_text("name: Broken\ntrigger: {event: x}\nsteps: 3\n")

    lines = _validate(root, capsys)

    assert all("there is no" not in line for line in lines), lines
    assert any(line.startswith("marketing/forms/whitepaper.yaml:") for line in lines), lines
    assert any(line.startswith("marketing/journeys/broken.yaml:3: steps:") for line in lines)


def test_a_consent_topic_brand_yaml_lacks_is_named_with_its_line(tmp_path, capsys):
    root = _copy_samples(tmp_path)
    _edit(root / "forms" / "whitepaper.yaml", "topics: [marketing]", "topics: [marketting]")

    lines = _validate(root, capsys)

    assert lines == [
        "marketing/forms/whitepaper.yaml:"
        f"{_line_of(root / 'forms' / 'whitepaper.yaml', 'marketting')}: consent.topics[0]: "
        "topic 'marketting' is not listed under topics in templates/brand.yaml"
    ]


def _line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_a_missing_layout_or_brand_value_is_named_with_its_line_and_in_the_authors_terms(
    tmp_path, capsys
):
    root = _copy_samples(tmp_path)
    templates = tmp_path / "templates"
    _edit(templates / "win-back.mjml", "layouts/base.mjml", "layouts/bsae.mjml")
    _edit(templates / "demo-offer.mjml", "[[ brand.muted ]]", "[[ brand.mutted ]]")

    lines = _validate(root, capsys)

    assert lines == [
        f"templates/demo-offer.mjml:{_line_of(templates / 'demo-offer.mjml', 'brand.mutted')}:"
        " [[ brand.mutted ]]: brand.yaml has no mutted",
        "templates/win-back.mjml:1: no such template or partial: layouts/bsae.mjml",
    ]


def test_a_hand_off_to_a_team_routing_does_not_have_is_named_with_its_line(tmp_path):
    import shutil

    from chalicelib.content import catalog as catalog_mod
    from tests.builders import ROOT

    shutil.copytree(ROOT / "marketing", tmp_path / "marketing")
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    journey = tmp_path / "marketing" / "journeys" / "onboarding.yaml"
    journey.write_text(journey.read_text().replace("team: customer-success", "team: succes"))

    problems = [str(p) for p in catalog_mod.load(tmp_path / "marketing").problems]

    assert any(
        "onboarding.yaml:" in p and "handoff.team: there is no team 'succes' in routing.yaml" in p
        for p in problems
    ), problems


def test_a_journey_that_waits_for_leadflows_own_records_is_told_it_never_hears_them(tmp_path):
    problems = _demo_problems(
        tmp_path,
        "name: Demo\n"
        "trigger: {event: demo_requested}\n"
        "exit_when:\n"
        "  - event: [unsubscribed, webhook_failed]\n"
        "  - any: [{event: split_assigned}]\n"
        "steps:\n"
        "  - id: sent\n"
        "    wait_for: {event: email_queued, timeout: 2d}\n",
    )

    assert problems == [
        "marketing/journeys/demo.yaml:4: exit_when[0].event: webhook_failed is Leadflow's own "
        "record of its work: no journey reacts to it",
        "marketing/journeys/demo.yaml:5: exit_when[1].any[0].event: split_assigned is "
        "Leadflow's own record of its work: no journey reacts to it",
        "marketing/journeys/demo.yaml:8: steps[0].wait_for.event: email_queued is Leadflow's own "
        "record of its work: no journey reacts to it",
    ]
