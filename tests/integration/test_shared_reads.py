"""The handlers of one event share a contact read until the contacts table is written: fewer
reads, and never a handler deciding on a contact an earlier handler has since changed."""

from __future__ import annotations

from chalicelib.store import shared_reads, tables
from chalicelib.store.models import ContactModel, CounterModel
from tests.builders import DynamoCalls


def test_reads_are_shared_until_the_contacts_table_is_written(svc, ada):
    with shared_reads.sharing(), DynamoCalls() as calls:
        first = svc.contacts.get(ada)
        first["stage"] = "mutated by a caller"  # a copy: the next reader is not affected
        again = svc.contacts.get(ada)
        assert calls.count("GetItem") == 1
        assert again["stage"] != "mutated by a caller"

        CounterModel("unrelated").update(actions=[CounterModel.value.add(1)])
        svc.contacts.get(ada)
        assert calls.count("GetItem") == 1  # another table's write changes no contact

        ContactModel(ada).update(actions=[ContactModel.stage.set("sql")])
        assert svc.contacts.get(ada)["stage"] == "sql"
        assert calls.count("GetItem") == 2

        tables.transact(
            [
                ("update", CounterModel("unrelated"), {"actions": [CounterModel.value.add(1)]}),
                ("update", ContactModel(ada), {"actions": [ContactModel.stage.set("mql")]}),
            ]
        )
        assert svc.contacts.get(ada)["stage"] == "mql"  # one item of a transaction is enough
        assert calls.count("GetItem") == 3


def test_outside_an_event_every_read_goes_to_the_store(svc, ada):
    with DynamoCalls() as calls:
        svc.contacts.get(ada)
        svc.contacts.get(ada)
    assert calls.count("GetItem") == 2


def test_a_partiql_request_forgets_every_shared_read(svc, ada):
    """PartiQL names its tables inside the statements: any such request may have written."""
    with shared_reads.sharing(), DynamoCalls() as calls:
        svc.contacts.get(ada)
        tables.connection().client.batch_execute_statement(
            Statements=[
                {
                    "Statement": f'UPDATE "{ContactModel.Meta.table_name}" SET stage=? WHERE id=?',
                    "Parameters": [{"S": "sql"}, {"S": ada}],
                }
            ]
        )
        assert svc.contacts.get(ada)["stage"] == "sql"
        assert calls.count("GetItem") == 2
