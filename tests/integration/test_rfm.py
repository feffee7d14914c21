"""RFM once a day over the buyers only: tiers on the contacts, `rfm_changed` when a tier
moves, and a segment on the tier following it."""

from __future__ import annotations

from chalicelib.events import PURCHASE, RFM_CHANGED
from chalicelib.services.rfm import BUYERS
from tests.builders import lead, post_json

VALUE_SEGMENT = "name: Important value\nwhen: {field: rfm.tier, equals: important-value}\n"


def _contact(client, world, email: str) -> str:
    assert post_json(client, lead(email=email)).status_code == 201
    world.settle()
    return world.svc.contacts.find_by_key(f"email:{email}")


def test_buyers_get_tiers_once_a_day_and_segments_follow(client, journeys, tmp_path):
    marketing = tmp_path / "marketing"
    (marketing / "segments").mkdir(parents=True)
    (marketing / "segments" / "important-value.yaml").write_text(VALUE_SEGMENT)
    journeys.publish(marketing)
    svc = journeys.svc
    ada, bob, cy = (_contact(client, journeys, f"{n}@example.com") for n in ("ada", "bob", "cy"))
    journeys.event(bob, PURCHASE, amount=20)
    for amount in (300, 450, "120.50"):
        journeys.later(hours=1)
        journeys.event(ada, PURCHASE, amount=amount)

    journeys.later(days=1)  # the first tick of the new day recomputes

    tiers = {c: (svc.contacts.get(c).get("rfm") or {}).get("tier") for c in (ada, bob, cy)}
    assert tiers == {ada: "important-value", bob: "general-retain", cy: None}
    assert svc.contacts.get(ada)["rfm"]["label"] == "重要价值客户"
    assert {m.contact_id for m in svc.members.all(BUYERS)} == {ada, bob}  # cy is never read
    assert "important-value" in (svc.contacts.get(ada).get("segments") or ())

    journeys.later(days=1)  # nothing changed: nothing written
    changed = [e for e in svc.events.timeline(ada, limit=500) if e.type == RFM_CHANGED]
    assert len(changed) == 1 and changed[0].properties["from"] is None
    assert svc.rfm.recompute_if_due(journeys.clock.now()) is None  # the day is taken
