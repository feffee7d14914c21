"""Importing and exporting contacts on the embedded AWS: encodings, separators and Excel; a
second run, the dry run, rejected rows, an interrupted run resumed, lists, consent, and an
export that imports back to the same contacts."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from openpyxl import Workbook

from chalicelib.contacts.encoding import EncodingError
from chalicelib.contacts.reconcile import OnExisting
from chalicelib.services.exporter import ExportError
from chalicelib.services.importer import ImportOptions
from chalicelib.store import tables
from chalicelib.store.models import ContactModel
from tests.conftest import reset_aws

HEADER = ["邮箱", "手机", "姓名", "公司", "职位", "城市", "标签"]
PEOPLE = [
    ["li.lei@example.cn", "13800138000", "李雷", "北京星辰科技", "市场总监", "北京", "展会;VIP"],
    ["Han.Meimei@Example.cn", "13900139000", "韩梅梅", "上海云图信息", "销售经理", "上海", "展会"],
    ["wang.fang@example.cn", "", "王芳", "深圳前海数据", "CEO", "深圳", ""],
]
CN = ImportOptions(phone_region="CN")


def _csv(path: Path, rows: list[list[str]], encoding: str, separator: str = ",") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        csv.writer(f, delimiter=separator).writerows(rows)
    return path


def _xlsx(path: Path, rows: list[list[object]]) -> Path:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def _names(svc) -> dict[str, str]:
    out = {}
    for contact_id in svc.contacts.all_ids():
        contact = svc.contacts.get(contact_id)
        out[contact["email"] or contact["phone"]] = contact["properties"].get("name")
    return out


@pytest.mark.parametrize(
    ("encoding", "separator"),
    [
        ("utf-8", ","),
        ("utf-8-sig", ";"),
        ("utf-16", "\t"),  # Excel's "Unicode text"
        ("gbk", ","),  # Excel's "CSV" on a Chinese Windows: no BOM
        ("gb18030", "\t"),
    ],
)
def test_each_encoding_and_separator_imports_the_same_names(svc, tmp_path, encoding, separator):
    path = _csv(tmp_path / "contacts.csv", [HEADER, *PEOPLE], encoding, separator)
    summary = svc.importer.run(path, CN)
    assert summary.counts["create"] == 3 and summary.separator == separator
    assert _names(svc) == {
        "li.lei@example.cn": "李雷",
        "han.meimei@example.cn": "韩梅梅",
        "wang.fang@example.cn": "王芳",
    }


def test_a_workbook_is_known_by_its_bytes_whatever_its_name(svc, tmp_path):
    """An upload without a name is kept as upload.csv; a workbook saved as .csv by mistake."""
    workbook = _xlsx(tmp_path / "contacts.xlsx", [HEADER, *PEOPLE])
    misnamed = workbook.rename(tmp_path / "contacts.csv")
    summary = svc.importer.run(misnamed, CN)
    assert summary.kind == "xlsx" and summary.counts["create"] == 3
    assert set(_names(svc).values()) == {"李雷", "韩梅梅", "王芳"}


def test_the_rows_of_one_batch_are_written_at_one_moment(svc, clock, tmp_path, monkeypatch):
    """So none of them is newer than another when two are merged."""

    class Ticking:
        def now(self):
            return clock.advance(milliseconds=1)

    monkeypatch.setattr(svc.importer, "clock", Ticking())
    svc.importer.run(_csv(tmp_path / "contacts.csv", [HEADER, *PEOPLE], "utf-8", ","), CN)
    ids = [svc.contacts.find_by_email(email) for email in _names(svc)]
    moments = {svc.contacts.get(cid)["updated_at"] for cid in ids}
    assert len(ids) == 3 and len(moments) == 1


def test_an_excel_workbook_imports_numbers_as_excel_shows_them(svc, tmp_path):
    rows = [HEADER, *[[*p[:1], int(p[1]) if p[1] else None, *p[2:]] for p in PEOPLE]]
    summary = svc.importer.run(_xlsx(tmp_path / "contacts.xlsx", rows), CN)
    assert summary.kind == "xlsx" and summary.counts["create"] == 3
    li = svc.contacts.get(svc.contacts.find_by_email("li.lei@example.cn"))
    assert li["phone"] == "+8613800138000" and li["tags"] == {"展会", "VIP"}
    assert li["properties"] == {
        "name": "李雷",
        "company": "北京星辰科技",
        "job_title": "市场总监",
        "city": "北京",
    }


def test_a_big5_file_is_refused_with_the_option_named(svc, tmp_path):
    rows = [["郵箱", "姓名", "公司"], ["a@example.tw", "陳大文", "臺北資訊股份有限公司"]]
    path = _csv(tmp_path / "big5.csv", rows, "big5")
    with pytest.raises(EncodingError, match="--encoding"):
        svc.importer.run(path, CN)
    summary = svc.importer.run(path, ImportOptions(encoding="big5"))
    assert _names(svc) == {"a@example.tw": "陳大文"} and summary.counts["create"] == 1


def test_a_file_imported_twice_creates_no_one_new(svc, tmp_path):
    path = _csv(tmp_path / "contacts.csv", [HEADER, *PEOPLE], "utf-8")
    assert svc.importer.run(path, CN).counts["create"] == 3
    again = svc.importer.run(path, CN)
    assert dict(again.counts) == {"unchanged": 3}
    assert ContactModel.count() == 3


def test_the_dry_run_counts_what_the_real_run_does_and_writes_nothing(svc, tmp_path):
    svc.importer.run(_csv(tmp_path / "old.csv", [HEADER, PEOPLE[0]], "utf-8"), CN)
    rows = [
        HEADER,
        PEOPLE[0],  # unchanged
        [*PEOPLE[1][:5], "杭州", ""],  # new
        ["LI.LEI@example.cn", "", "李雷", "北京星辰科技", "副总裁", "北京", ""],  # an update
        ["not-an-email", "", "无名", "", "", "", ""],  # rejected
        ["", "", "", "", "", "", ""],  # blank: not a row
        [*PEOPLE[1][:5], "杭州", ""],  # the same person again in the file: unchanged
        [*PEOPLE[1][:5], "苏州", ""],  # and again, moved: an update
    ]
    path = _csv(tmp_path / "new.csv", rows, "utf-8")
    before = ContactModel.count()
    dry = svc.importer.run(path, CN, dry_run=True)
    assert ContactModel.count() == before
    real = svc.importer.run(path, CN)
    assert (
        dict(dry.counts)
        == dict(real.counts)
        == {
            "unchanged": 2,
            "create": 1,
            "update": 2,
            "rejected": 1,
        }
    )
    han = svc.contacts.get(svc.contacts.find_by_email("han.meimei@example.cn"))
    assert han["properties"]["city"] == "苏州"


def test_rejected_rows_are_written_with_row_column_value_and_reason(svc, tmp_path):
    rows = [
        HEADER,
        PEOPLE[0],
        ["bad@", "", "坏邮箱", "", "", "", ""],
        ["", "12345", "短号码", "", "", "", ""],
        ["", "", "没有联系方式", "某公司", "", "", ""],
        ["ok@example.cn", "", "<script>x</script>", "", "", "", ""],
        PEOPLE[2],
    ]
    rejected = tmp_path / "rejected.csv"
    summary = svc.importer.run(_csv(tmp_path / "c.csv", rows, "gbk"), CN, rejected=rejected)
    assert summary.counts["create"] == 2 and summary.counts["rejected"] == 4
    with rejected.open(encoding="utf-8-sig") as f:
        found = list(csv.reader(f))
    assert found[0] == ["row", "column", "value", "reason"]
    assert [(r[0], r[1], r[2]) for r in found[1:]] == [
        ("3", "邮箱", "bad@"),
        ("4", "手机", "12345"),
        ("5", "邮箱", ""),
        ("6", "姓名", "<script>x</script>"),
    ]
    assert all(r[3] for r in found[1:])
    assert _names(svc) == {"li.lei@example.cn": "李雷", "wang.fang@example.cn": "王芳"}


def test_an_interrupted_import_resumes_after_its_last_batch_and_creates_no_one_twice(svc, tmp_path):
    rows = [["email", "name"]] + [[f"p{i}@example.com", f"Person {i}"] for i in range(120)]
    path = _csv(tmp_path / "many.csv", rows, "utf-8")

    def stop(row: int) -> None:
        if row == 70:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        svc.importer.run(path, CN, progress=stop)
    written = ContactModel.count()
    assert 0 < written < 120
    resumed = svc.importer.run(path, CN)
    assert 0 < resumed.resumed_after < 70
    assert dict(resumed.counts) == {"create": 120}
    assert ContactModel.count() == 120


def test_a_person_in_the_batch_being_written_is_updated_once_whatever_key_reaches_them(
    svc, tmp_path
):
    """One batch is written while the next is decided: a row that comes back by the same
    key waits for it, one that reaches the contact by another key is decided again."""
    header = ["email", "phone", "company", "city"]
    svc.importer.run(
        _csv(tmp_path / "old.csv", [header, ["c@x.io", "13800138000", "Old", ""]], "utf-8"), CN
    )
    filler = [[f"p{i}@example.com", "", "Filler", ""] for i in range(40)]
    rows = [
        header,
        ["c@x.io", "", "New", ""],  # batch 1
        *filler[:23],
        ["", "13800138000", "", "杭州"],  # batch 2: the same contact by its phone
        *filler[23:],
        [filler[30][0], "", "Filler", "上海"],  # the same key as a row just before
    ]
    summary = svc.importer.run(_csv(tmp_path / "new.csv", rows, "utf-8"), CN)

    assert dict(summary.counts) == {"create": 40, "update": 3}
    contact = svc.contacts.get(svc.contacts.find_by_email("c@x.io"))
    assert contact["properties"] == {"company": "New", "city": "杭州"}
    assert contact["phone"] == "+8613800138000"
    again = svc.contacts.get(svc.contacts.find_by_email(filler[30][0]))
    assert again["properties"]["city"] == "上海"
    assert ContactModel.count() == 41


def test_two_rows_of_one_batch_that_reach_one_contact_by_two_keys_are_both_applied(svc, tmp_path):
    """One transaction cannot write an item twice: the second row waits for the first."""
    header = ["email", "phone", "company", "city"]
    old = [header, ["c@x.io", "13800138000", "Old", ""]]
    svc.importer.run(_csv(tmp_path / "old.csv", old, "utf-8"), CN)
    rows = [
        header,
        ["c@x.io", "", "New", ""],
        ["other@x.io", "", "Other", ""],
        ["", "13800138000", "", "杭州"],  # the same contact, by its phone, in the same batch
    ]
    path = _csv(tmp_path / "new.csv", rows, "utf-8")

    dry = svc.importer.run(path, CN, dry_run=True)
    summary = svc.importer.run(path, CN)

    assert dict(dry.counts) == dict(summary.counts) == {"create": 1, "update": 2}
    contact = svc.contacts.get(svc.contacts.find_by_email("c@x.io"))
    assert contact["properties"] == {"company": "New", "city": "杭州"}
    assert svc.importer.store.resume_point(summary.job).row == 1  # finished and forgotten


def test_on_existing_skip_and_fill_empty_leave_what_the_contact_has(svc, tmp_path):
    svc.importer.run(
        _csv(tmp_path / "a.csv", [["email", "company", "city"], ["a@x.io", "Acme", ""]], "utf-8"),
        CN,
    )
    path = _csv(
        tmp_path / "b.csv", [["email", "company", "city"], ["a@x.io", "Other", "Berlin"]], "utf-8"
    )
    skip = svc.importer.run(path, ImportOptions(on_existing=OnExisting.SKIP))
    assert dict(skip.counts) == {"skipped": 1}
    fill = svc.importer.run(path, ImportOptions(on_existing=OnExisting.FILL_EMPTY))
    assert dict(fill.counts) == {"update": 1}
    contact = svc.contacts.get(svc.contacts.find_by_email("a@x.io"))
    assert contact["properties"] == {"company": "Acme", "city": "Berlin"}


def test_a_list_tags_and_consent_come_only_from_the_file_and_its_options(svc, tmp_path):
    rows = [["email", "consent"], ["yes@x.io", "是"], ["no@x.io", "否"], ["silent@x.io", ""]]
    options = ImportOptions(
        lists=frozenset({"trade-show-2026"}),
        tags=frozenset({"expo"}),
        consent_topics=("marketing",),
        consent_source="Expo 2026 sign-up sheet",
    )
    svc.importer.run(_csv(tmp_path / "expo.csv", rows, "utf-8"), options)
    people = {
        c: svc.contacts.get(svc.contacts.find_by_email(c))
        for c in ("yes@x.io", "no@x.io", "silent@x.io")
    }
    assert people["yes@x.io"]["consents"]["marketing"]["granted"] is True
    assert people["yes@x.io"]["consents"]["marketing"]["source"] == "Expo 2026 sign-up sheet"
    assert people["no@x.io"]["consents"]["marketing"]["granted"] is False
    assert people["silent@x.io"]["consents"] == {}
    assert all(
        p["tags"] == {"expo"} and p["segments"] == {"trade-show-2026"} for p in people.values()
    )
    assert svc.members.size("trade-show-2026") == 3
    entered = [
        e for e in svc.events.timeline(people["no@x.io"]["id"]) if e.type == "segment_entered"
    ]
    assert [e.properties["segment"] for e in entered] == ["trade-show-2026"]


def test_an_export_imports_back_to_the_same_contacts(svc, tmp_path):
    rows = [HEADER, *PEOPLE, ["=cmd@example.cn", "", "=SUM(A1)", "", "", "", ""]]
    svc.importer.run(_csv(tmp_path / "in.csv", rows[:4], "utf-8"), CN)
    before = {c: svc.contacts.get(c) for c in svc.contacts.all_ids()}
    for name in ("out.csv", "out.xlsx"):
        out = tmp_path / name
        assert svc.exporter.export(out).rows == 3
        reset_aws()
        tables.create_all()
        svc.importer.run(out, CN)
        after = {c: svc.contacts.get(c) for c in svc.contacts.all_ids()}
        assert set(after) == set(before)
        for cid, contact in before.items():
            for name_ in ("email", "phone", "properties", "tags"):
                assert after[cid][name_] == contact[name_], (name, name_)


def test_an_export_refuses_a_column_nobody_has_and_options_it_would_ignore(svc, tmp_path):
    svc.importer.run(_csv(tmp_path / "in.csv", [HEADER, *PEOPLE], "utf-8"), CN)
    out = tmp_path / "out.csv"
    wrong = [
        ({"out": out, "fields": ["email", "compnay"]}, "--fields: no contact here has 'compnay'"),
        ({"out": tmp_path / "out.xls"}, ".xls is Excel's old format"),
        ({"out": tmp_path / "out.xlsx", "encoding": "gbk"}, "--encoding is for CSV"),
    ]
    for kwargs, message in wrong:
        with pytest.raises(ExportError, match=re.escape(message)):
            svc.exporter.export(**kwargs)
    assert not any(tmp_path.glob("out.*"))
    done = svc.exporter.export(out, fields=["email", "company", "stage"])
    assert done.columns == ["email", "company", "stage"] and done.rows == 3
    empty = svc.exporter.export(tmp_path / "nobody.csv", segment="nobody", fields=["compnay"])
    assert empty.rows == 0  # nobody to export: the header alone, whatever it names


def test_the_cli_lists_contacts_as_json_as_the_api_does(svc, client, admin_key, tmp_path, capsys):
    from chalicelib.cli import main

    svc.importer.run(_csv(tmp_path / "people.csv", [HEADER, *PEOPLE], "utf-8"), CN)
    capsys.readouterr()
    assert main(["contacts", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["contacts"]
    answered = client.http.get("/contacts", headers={"X-Api-Key": admin_key}).json_body
    assert len(listed) == 3 and listed == answered["contacts"]


def test_the_cli_names_what_is_wrong_and_exits_1(svc, tmp_path, capsys):
    from chalicelib.cli import main

    big5 = _csv(tmp_path / "big5.csv", [["郵箱", "姓名"], ["a@example.tw", "陳大文"]], "big5")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    no_key = _csv(tmp_path / "names.csv", [["姓名", "公司"], ["李雷", "星辰"]], "utf-8")
    cases = [
        ([str(tmp_path / "missing.csv")], "no such file"),
        ([str(big5)], "--encoding"),
        ([str(big5), "--encoding", "klingon"], "--encoding: 'klingon'"),
        ([str(empty)], "the file is empty"),
        ([str(no_key)], "no column holds an email address or a phone number"),
        ([str(big5), "--list", "nobody-made-this"], "--list: nobody-made-this"),
        ([str(big5), "--phone-region", "XX"], "ISO 3166"),
        ([str(no_key), "--rejected", str(tmp_path / "nowhere" / "x.csv")], "--rejected"),
        ([str(no_key), "--rejected", str(tmp_path)], "--rejected"),
    ]
    capsys.readouterr()
    assert main(["contacts", "list", "--stage", "bogus"]) == 1
    assert "--stage: one of " in capsys.readouterr().err
    for argv, message in cases:
        capsys.readouterr()
        assert main(["import", *argv]) == 1, argv
        err = capsys.readouterr().err
        assert err.startswith("leadflow import: ") and message in err, (argv, err)
    assert ContactModel.count() == 0


def test_the_contact_list_filters_pages_and_shows_a_sales_key_only_its_leads(
    svc, client, admin_key, tmp_path
):
    rows = [["email", "name", "company", "tags"]] + [
        [
            f"p{i}@example.com",
            f"Person {i}",
            "星辰科技" if i % 3 == 0 else "Acme",
            "vip" if i % 2 else "",
        ]
        for i in range(30)
    ]
    svc.importer.run(_csv(tmp_path / "people.csv", rows, "utf-8"), CN)

    def page(**params):
        query = "&".join(f"{k}={v}" for k, v in params.items())
        answer = client.http.get(f"/contacts?{query}", headers={"X-Api-Key": admin_key})
        assert answer.status_code == 200, answer.body
        return answer.json_body

    seen, after = [], None
    while True:
        body = page(tag="vip", limit=4, **({"after": after} if after else {}))
        assert len(body["contacts"]) <= 4
        seen += [c["email"] for c in body["contacts"]]
        after = body["next"]
        if after is None:
            break
    assert sorted(seen) == sorted(f"p{i}@example.com" for i in range(30) if i % 2)
    found = page(q="星辰", limit=50)["contacts"]
    assert {c["email"] for c in found} == {f"p{i}@example.com" for i in range(0, 30, 3)}
    bad = client.http.get("/contacts?stage=royalty&since=x", headers={"X-Api-Key": admin_key})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json_body["fields"]} == {"stage", "since"}
    sales = svc.api_keys.create("rep", "sales", owner="rep-1")
    mine = client.http.get("/contacts?limit=50", headers={"X-Api-Key": sales})
    assert mine.status_code == 200 and mine.json_body["contacts"] == []


def test_a_merge_keeps_both_timelines_journeys_and_lists_and_the_stricter_consent(
    client, svc, journeys, tmp_path
):
    from tests.builders import lead, post_json

    # Ada signed up twice: once with consent on the whitepaper form, once on a list import
    # that says she refused marketing, under another address.
    assert post_json(client, lead(email="ada@example.com", first_name="Ada")).status_code == 201
    journeys.settle()
    journeys.clock.advance(hours=1)  # the import is the newer record: its company wins
    rows = [
        ["email", "phone", "company", "consent"],
        ["ada.l@example.org", "+4915112345678", "Engines Ltd", "no"],
    ]
    svc.importer.run(
        _csv(tmp_path / "a.csv", rows, "utf-8"),
        ImportOptions(lists=frozenset({"vip-list"}), consent_topics=("marketing",)),
    )
    journeys.settle()
    ada = svc.contacts.find_by_email("ada@example.com")
    other = svc.contacts.find_by_email("ada.l@example.org")
    before = {e.event_id for cid in (ada, other) for e in svc.events.timeline(cid, limit=500)}
    journeys_before = svc.enrollments.for_contact(ada)

    report = svc.merger.merge(ada, other, by="test")

    merged = svc.contacts.get(ada)
    timeline = svc.events.timeline(ada, limit=500)
    assert before <= {e.event_id for e in timeline}
    assert [e.type for e in timeline].count("contacts_merged") == 1
    assert merged["consents"]["marketing"]["granted"] is False  # the refusal wins
    assert merged["phone"] == "+4915112345678" and merged["email"] == "ada@example.com"
    assert merged["properties"]["company"] == "Engines Ltd"
    assert merged["properties"]["first_name"] == "Ada"
    assert merged["first_touch"] == svc.contacts.get_own(ada)["first_touch"]
    assert "vip-list" in merged["segments"] and svc.members.size("vip-list") == 1
    assert {e.key for e in svc.enrollments.for_contact(ada)} >= {e.key for e in journeys_before}
    # the merged-away id and both addresses find the survivor
    assert svc.contacts.get(other)["id"] == ada
    assert svc.contacts.find_by_email("ada.l@example.org") == ada
    assert svc.events.timeline(other, limit=10) == []
    assert report.keys == ["email:ada.l@example.org", "phone:+4915112345678"]
    assert report.taken["consents.marketing"] == "the merged contact's refusal"
    with pytest.raises(Exception, match="merged into"):
        svc.merger.merge(ada, other, by="test")


def test_a_row_in_another_encoding_is_rejected_by_name_and_the_rest_read_as_utf8(svc, tmp_path):
    good = [HEADER, *PEOPLE, PEOPLE[0]]  # the last row repeats the first: one contact
    path = _csv(tmp_path / "mixed.csv", good, "utf-8")
    with path.open("ab") as f:
        f.write("zhao@example.cn,13700137000,赵强,杭州数联,,杭州,\r\n".encode("gbk"))
        f.write("broken@,,坏,,,,\r\n".encode())
    rejected = tmp_path / "mixed.rejected.csv"
    summary = svc.importer.run(path, CN, rejected=rejected)
    assert summary.encoding == "utf-8"
    assert dict(summary.counts) == {"create": 3, "unchanged": 1, "rejected": 2}
    assert _names(svc)["li.lei@example.cn"] == "李雷"  # not garbled
    with rejected.open(encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))[1:]
    assert [(r[0], r[1]) for r in rows] == [("6", "姓名"), ("7", "邮箱")]
    assert "encoding" in rows[0][3] and "\ufffd" in rows[0][2]


def test_an_unclosed_quote_rejects_its_row_instead_of_swallowing_the_rest(svc, tmp_path):
    path = tmp_path / "quote.csv"
    path.write_text(
        'email,name\nq1@example.com,One\nq2@example.com,"unterminated\n'
        "q3@example.com,Three\nq4@example.com,Four\n",
        encoding="utf-8",
    )
    rejected = tmp_path / "quote.rejected.csv"
    summary = svc.importer.run(path, CN, rejected=rejected)
    assert dict(summary.counts) == {"create": 1, "rejected": 1}
    with rejected.open(encoding="utf-8-sig") as f:
        (row,) = list(csv.reader(f))[1:]
    assert row[:2] == ["3", "name"] and "q3@example.com" in row[2] and "quote" in row[3]
