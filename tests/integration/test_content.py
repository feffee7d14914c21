"""Form content on the store: publishing is versioned. (Validation: tests/unit/test_content.py.)"""

from __future__ import annotations

from chalicelib.content import catalog
from chalicelib.services import publisher
from tests.unit.test_content import VALID, _write


def test_publishing_twice_stores_one_version_and_a_change_makes_the_next(svc, tmp_path):
    root = _write(tmp_path, "demo.yaml", VALID)
    first = publisher.publish(catalog.load(root), svc.content)
    same = publisher.publish(catalog.load(root), svc.content)
    _write(tmp_path, "demo.yaml", VALID.replace("Demo request", "Book a demo"))
    changed = publisher.publish(catalog.load(root), svc.content)

    # The svc fixture published the sample scoring, routing, rules, rfm and campaigns; this has
    # none, so the first publish retires them (an empty version) and the later ones leave them.
    assert first.published == [
        "form demo v1",
        "leads scoring v2 (removed)",
        "leads routing v2 (removed)",
        "leads rules v2 (removed)",
        "leads rfm v2 (removed)",
        "leads campaigns v2 (removed)",
    ]
    assert same.published == [] and same.unchanged[0] == "form demo"
    assert changed.published == ["form demo v2"]
    assert svc.content.latest("form", "demo")["name"] == "Book a demo"
