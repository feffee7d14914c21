"""How sales notices name a lead (what sales receives from the real hand-off:
tests/integration/test_handoff_payloads.py)."""

from __future__ import annotations


def test_a_chinese_name_reads_family_name_first_and_others_given_name_first():
    from chalicelib.services.notices import display_name

    def named(first: str, last: str) -> str:
        return display_name({"properties": {"first_name": first, "last_name": last}})

    assert named("伟", "王") == "王伟"
    assert named("Ada", "Lovelace") == "Ada Lovelace"
    assert display_name({"properties": {"name": "李娜"}, "email": "li@example.cn"}) == "李娜"
