"""A contact change as values: tags, stage and the one write the store makes of it."""

from __future__ import annotations

import pytest

from chalicelib.contact_change import ContactChange
from chalicelib.lifecycle import Mover, Stage
from chalicelib.store.changes import contact_update

READ = {"id": "ct_x", "version": 3, "tags": ["cold", "webinar"], "stage": "sql"}


def test_adding_and_removing_tags_in_one_change_writes_the_whole_set_it_read():
    change = ContactChange.of(READ)
    change.tag("hot")
    change.untag("cold")
    change.tag("cold")
    change.untag("cold")

    assert change.whole_tags() == {"webinar", "hot"}


def test_the_stage_moves_only_as_the_lifecycle_allows_for_who_asks():
    change = ContactChange.of(READ)

    assert change.move_stage(Stage.LEAD, Mover.JOURNEY) is None
    assert change.stage is None and change.empty
    assert change.move_stage(Stage.LEAD, Mover.RULE) is Stage.LEAD
    assert change.stage is Stage.LEAD and change.touches_contact
    assert change.move_stage(Stage.MQL, Mover.JOURNEY) is Stage.MQL  # from lead, as moved


def test_the_stage_is_not_a_field_a_change_may_set():
    change = ContactChange("ct_x", 3, attributes={"stage": "customer"})

    with pytest.raises(ValueError, match="move_stage"):
        contact_update(change)


def test_the_write_is_conditioned_on_the_version_read():
    change = ContactChange.of(READ, lead={"status": "assigned"})
    change.properties["plan"] = None

    op, model, kwargs = contact_update(change)

    assert (op, model.id) == ("update", "ct_x")
    assert str(kwargs["condition"]) == "version = {'N': '3'}"
    assert [str(a) for a in kwargs["actions"]] == [
        "version {'N': '1'}",  # ADD 1
        "lead = {'M': {'status': {'S': 'assigned'}}}",
        "properties.plan",  # REMOVE
    ]
