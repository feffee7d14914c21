"""Files in marketing/assets/ published with the content: versioned, and stored in parts when
larger than an item. (Validation: tests/unit/test_assets.py; serving: tests/e2e/test_assets.py.)"""

from __future__ import annotations

from chalicelib.content import assets, catalog
from chalicelib.leads import downloads
from chalicelib.services import publisher
from tests.unit.test_assets import PDF, _marketing


def test_publishing_an_unchanged_file_stores_nothing_and_a_changed_one_the_next_version(
    svc, tmp_path
):
    root = _marketing(tmp_path, {"guide.pdf": PDF})
    first = publisher.publish(catalog.load(root), svc.content)
    same = publisher.publish(catalog.load(root), svc.content)
    (root / "assets" / "guide.pdf").write_bytes(PDF + b"second edition\n")
    changed = publisher.publish(catalog.load(root), svc.content)

    assert "asset guide.pdf v1" in first.published
    assert same.published == [] and "asset guide.pdf" in same.unchanged
    assert changed.published == ["asset guide.pdf v2"]
    body = svc.content.latest(downloads.KIND, "guide.pdf")
    assert svc.content.read_bytes(body["sha256"]) == PDF + b"second edition\n"


def test_a_file_larger_than_a_dynamodb_item_is_stored_in_parts_and_read_back_whole(svc, tmp_path):
    data = PDF + bytes(range(256)) * (assets.MAX_BYTES // 256 - 1)
    root = _marketing(tmp_path, {"playbook.pdf": data})

    publisher.publish(catalog.load(root), svc.content)

    body = svc.content.latest(downloads.KIND, "playbook.pdf")
    assert body["size"] == len(data) > 400 * 1024
    assert svc.content.read_bytes(body["sha256"]) == data
