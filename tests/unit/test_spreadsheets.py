"""Reading a marketer's spreadsheet without the store: encodings in the safe order, headers
in English and Chinese, formula cells on the way out and back."""

from __future__ import annotations

import pytest

from chalicelib.contacts import columns, encoding, sheet

CHINESE = (
    "邮箱,姓名,公司\nli@example.cn,李雷,北京星辰科技有限公司\nwang@example.cn,王芳,上海云图信息\n"
)


@pytest.mark.parametrize(
    ("codec", "found"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("utf-16", "utf-16"),
        ("gbk", "gb18030"),
    ],
)
def test_the_encoding_is_found_in_the_safe_order(codec, found):
    data = CHINESE.encode(codec)
    assert encoding.detect([data]) == found


def test_utf8_split_across_chunks_is_still_utf8():
    data = CHINESE.encode("utf-8")
    cut = data.index("李".encode()) + 1  # inside the character
    assert encoding.detect([data[:cut], data[cut:]]) == "utf-8"


@pytest.mark.parametrize(
    ("text", "codec"),
    [
        ("郵箱,姓名,公司\na@example.tw,陳大文,臺北資訊股份有限公司\n", "big5"),
        ("メール,名前\ntanaka@example.jp,田中太郎\n", "shift_jis"),
    ],
)
def test_big5_and_shift_jis_are_refused_naming_the_option(text, codec):
    with pytest.raises(encoding.EncodingError, match="--encoding"):
        encoding.detect([text.encode(codec)])


def test_headers_map_in_english_and_chinese_with_decorations():
    header = [
        "邮箱*",
        "Mobile Phone",
        "姓名",
        "Company (work)",
        "职位：",
        "Budget 2026",
        "客户等级",
        "",
    ]
    mapping = columns.map_columns(header)
    assert mapping.fields == {
        0: "email",
        1: "phone",
        2: "name",
        3: "company",
        4: "job_title",
        5: "budget_2026",
    }
    assert "客户等级" in mapping.ignored


def test_a_mapping_file_wins_and_names_a_missing_column():
    header = ["E-mail", "客户等级", "内部编号"]
    mapping = columns.map_columns(header, {"客户等级": "tier", "内部编号": None})
    assert mapping.fields == {0: "email", 1: "tier"}
    assert mapping.ignored == {"内部编号": "skipped by the mapping file"}
    with pytest.raises(columns.MappingError, match="no column 'Emial'"):
        columns.map_columns(header, {"Emial": "email"})


def test_a_mapping_file_takes_a_field_from_a_column_that_would_have_been_guessed():
    header = ["邮箱", "工作邮箱", "姓名"]
    mapping = columns.map_columns(header, {"工作邮箱": "email", "邮箱": None})
    assert mapping.fields == {1: "email", 2: "name"}
    mapping = columns.map_columns(header, {"工作邮箱": "email"})
    assert mapping.fields == {1: "email", 2: "name"}
    assert mapping.ignored["邮箱"] == "the mapping file fills email from '工作邮箱'"
    with pytest.raises(columns.MappingError, match="'邮箱' and '工作邮箱' both map to email"):
        columns.map_columns(header, {"邮箱": "email", "工作邮箱": "email"})


def test_a_second_column_for_the_same_field_is_ignored_not_merged():
    mapping = columns.map_columns(["email", "邮箱"])
    assert mapping.fields == {0: "email"} and "already fills email" in mapping.ignored["邮箱"]


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("@cmd", "'@cmd"),
        ("+8613800138000", "+8613800138000"),
        ("-12.5", "-12.5"),
        ("-not a number", "'-not a number"),
        ("李雷", "李雷"),
    ],
)
def test_formula_cells_are_quoted_on_export_and_unquoted_on_import(value, written):
    assert sheet.guard(value) == written
    assert sheet._unguard(written) == value


def test_a_header_that_is_a_field_name_is_that_field_unless_it_names_a_phone_or_email():
    mapping = columns.map_columns(["email", "role", "state", "mobile", "job_title", "Job Title"])
    assert mapping.fields == {0: "email", 1: "role", 2: "state", 3: "phone", 4: "job_title"}
    assert "already fills job_title" in mapping.ignored["Job Title"]


def test_a_mapping_file_that_names_no_field_is_an_error_not_a_dropped_column():
    with pytest.raises(columns.MappingError, match="'邮箱'"):
        columns.map_columns(["邮箱", "姓名"], {"邮箱": "<b>"})
