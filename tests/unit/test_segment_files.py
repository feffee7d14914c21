"""What validate says about segment files: each mistake at its file, line and field."""

from __future__ import annotations

import pytest

from chalicelib.conditions import durations
from chalicelib.content import catalog
from tests.builders import ROOT


def _problems(tmp_path, files: dict[str, str]) -> list[str]:
    folder = tmp_path / "marketing" / "segments"
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / f"{name}.yaml").write_text(text)
    return [str(p) for p in catalog.load(folder.parent, ROOT / "templates").problems]


def test_a_circle_is_named_where_each_segment_reads_the_next(tmp_path):
    problems = _problems(
        tmp_path,
        {
            "a": "name: A\nwhen:\n  any:\n    - tag: x\n    - segment: b\n",
            "b": "name: B\nwhen: {segment: a}\n",
        },
    )

    assert problems == [
        "marketing/segments/a.yaml:5: when.any[1].segment: segments read each other in a "
        "circle: a -> b -> a",
        "marketing/segments/b.yaml:2: when.segment: segments read each other in a circle: "
        "a -> b -> a",
    ]


def test_a_list_with_a_condition_and_a_window_past_ten_years_are_refused(tmp_path):
    problems = _problems(
        tmp_path,
        {
            "both": "name: Both\nstatic: true\nwhen: {tag: x}\n",
            "far": "name: Far\nwhen: {inactive_for: 99999999d}\n",
            "gone": "name: Gone\nwhen: {segment: nowhere}\n",
        },
    )

    assert any("both.yaml:1: static: a list has no condition" in p for p in problems)
    assert any(
        "far.yaml:2: when.inactive_for: '99999999d' is longer than ten years" in p for p in problems
    )
    assert any("gone.yaml:2: when.segment: there is no segment 'nowhere'" in p for p in problems)


@pytest.mark.parametrize("text", ["3651d", "99999999d", "1" + "0" * 40 + "w"])
def test_durations_stop_at_ten_years_before_a_date_could_overflow(text):
    with pytest.raises(ValueError, match="longer than ten years"):
        durations.parse(text)
