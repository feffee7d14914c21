"""A CLI list pads by the columns a terminal shows, so Chinese names line up."""

from __future__ import annotations

from chalicelib.cli.width import columns, fit


def test_wide_characters_take_two_columns_and_pad_to_the_same_edge():
    assert columns("李雷") == 4 and columns("ｌｉ") == 4 and columns("li") == 2
    rows = [fit(name, 10) + "|" for name in ("李雷", "Li Lei", "北京星辰", "")]
    assert {columns(r) for r in rows} == {11}


def test_text_longer_than_the_width_is_kept_whole():
    assert fit("北京星辰科技有限公司", 8) == "北京星辰科技有限公司"


def test_a_number_where_text_was_expected_is_padded_as_its_text():
    assert fit(1000, 6) == "1000  " and columns(3.5) == 3
