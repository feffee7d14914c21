"""The handlers of one event share a contact read until anything is written: fewer reads,
and never a handler deciding on a contact an earlier handler has since changed."""

from __future__ import annotations

from chalicelib.store import shared_reads
from chalicelib.store.models import ContactModel, CounterModel
from tests.builders import DynamoCalls


def test_reads_between_writes_are_shared_and_a_write_of_any_table_ends_the_sharing(svc, ada):
    with shared_reads.sharing(), DynamoCalls() as calls:
        first = svc.contacts.get(ada)
        first["stage"] = "mutated by a caller"  # a copy: the next reader is not affected
        again = svc.contacts.get(ada)
        assert calls.count("GetItem") == 1
        assert again["stage"] != "mutated by a caller"

        ContactModel(ada).update(actions=[ContactModel.stage.set("sql")])
        assert svc.contacts.get(ada)["stage"] == "sql"
        assert calls.count("GetItem") == 2

        CounterModel("unrelated").update(actions=[CounterModel.value.add(1)])
        svc.contacts.get(ada)
        assert calls.count("GetItem") == 3


def test_outside_an_event_every_read_goes_to_the_store(svc, ada):
    with DynamoCalls() as calls:
        svc.contacts.get(ada)
        svc.contacts.get(ada)
    assert calls.count("GetItem") == 2
