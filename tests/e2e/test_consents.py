"""Consent per purpose (PIPL's separate consent): asked by a form with its own box, recorded
with the notice's version and source, required for sensitive fields, and given or withdrawn
by staff through the API; a withdrawal stops the very next send."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from chalicelib.cli import main
from chalicelib.leads.form_language import Form
from chalicelib.store.models import ContactModel, EventModel
from tests.builders import lead, post_json

PURPOSES = [
    {"purpose": "cross_border", "text": "I agree my data may be stored outside China."},
    {"purpose": "sensitive", "text": "I agree you may keep my health information."},
]


@pytest.fixture
def asking(svc):
    """The whitepaper form with two purposes of its own and a sensitive field."""
    form = svc.content.latest("form", "whitepaper")
    form["consent"]["purposes"] = PURPOSES
    form["fields"].append({"name": "condition", "label": "Health condition", "sensitive": True})
    Form.model_validate(form)
    svc.content.publish("form", "whitepaper", form)
    return svc


def _consents(email: str = "ada@example.com") -> dict:
    (contact,) = [c for c in ContactModel.scan() if c.email == email]
    return contact.consents.as_dict()


def test_each_purpose_ticked_is_recorded_apart_with_its_text_version_and_source(client, asking):
    response = post_json(client, lead(consent_cross_border="true"))

    assert response.status_code == 201
    consents = _consents()
    record = consents["purpose:cross_border"]
    assert record["granted"] is True
    assert record["text"] == PURPOSES[0]["text"]
    assert (record["version"], record["source"]) == ("2026-11", "form:whitepaper")
    assert "purpose:sensitive" not in consents  # not ticked: neither given nor withdrawn
    assert consents["marketing"]["text"].startswith("I agree that Leadflow may email me")


def test_a_sensitive_field_without_its_consent_is_refused_by_name_and_nothing_is_stored(
    client, asking
):
    response = post_json(client, lead(condition="asthma"))

    assert response.status_code == 422
    assert response.json_body["fields"] == [
        {
            "field": "condition",
            "message": "is sensitive information: it needs your separate consent to be kept",
        }
    ]
    assert list(ContactModel.scan()) == []
    assert post_json(client, lead(condition="asthma", consent_sensitive="on")).status_code == 201
    (contact,) = ContactModel.scan()
    assert contact.properties.as_dict()["condition"] == "asthma"
    assert contact.consents.as_dict()["purpose:sensitive"]["granted"] is True


def test_the_hosted_form_shows_a_box_for_each_purpose(client, asking):
    page = client.http.get("/forms/whitepaper").body.decode()
    assert 'name="consent_cross_border"' in page and PURPOSES[0]["text"] in page
    assert 'name="consent_sensitive"' in page


def test_a_field_may_not_take_a_purpose_box_name_and_tick_it_for_everyone(svc):
    form = svc.content.latest("form", "whitepaper")
    form["fields"].append({"name": "consent_sensitive", "type": "hidden", "default": "true"})
    with pytest.raises(ValidationError, match="reserved field names: consent_sensitive"):
        Form.model_validate(form)


def test_a_sensitive_number_zero_is_still_sensitive(client, asking):
    form = asking.content.latest("form", "whitepaper")
    form["fields"].append({"name": "cigarettes", "type": "number", "sensitive": True})
    asking.content.publish("form", "whitepaper", form)
    refused = post_json(client, lead(cigarettes="0"))
    assert refused.status_code == 422
    assert refused.json_body["fields"][0]["field"] == "cigarettes"


def test_a_form_with_a_sensitive_field_must_ask_for_that_purpose(svc):
    form = svc.content.latest("form", "whitepaper")
    form["fields"].append({"name": "religion", "sensitive": True})
    with pytest.raises(ValidationError, match=r"need consent\.purposes to ask for the sensitive"):
        Form.model_validate(form)


def _change(client, key, contact_id, **body):
    return client.http.post(
        f"/contacts/{contact_id}/consents",
        headers={"X-Api-Key": key, "Content-Type": "application/json"},
        body=json.dumps(body),
    )


def test_staff_record_a_purpose_given_by_phone_and_withdrawn_later(client, svc, admin_key, ada):
    given = _change(
        client,
        admin_key,
        ada,
        consent="purpose:third_party",
        granted=True,
        source="phone call, ticket 4411",
        version="2026-11-cn",
        text="同意向合作伙伴提供我的信息",
    )
    assert given.status_code == 200
    assert given.json_body["consents"]["purpose:third_party"]["version"] == "2026-11-cn"

    withdrawn = _change(
        client, admin_key, ada, consent="purpose:third_party", granted=False, source="email"
    )
    assert withdrawn.status_code == 200
    record = _consents()["purpose:third_party"]
    assert (record["granted"], record["source"]) == (False, "email")
    kinds = [e.type for e in EventModel.scan() if e.type.startswith("consent_")]
    assert sorted(kinds) == ["consent_given", "consent_withdrawn"]
    # Unsubscribing from every email withdraws no purpose, and no purpose withdraws email.
    assert _consents()["marketing"]["granted"] is True


def test_a_withdrawal_by_api_stops_the_next_send(client, svc, admin_key, ada, journeys):
    journeys.later(days=3)  # the case study is queued, not yet delivered
    answer = _change(client, admin_key, ada, consent="*", granted=False, source="support chat")

    assert answer.status_code == 200
    assert journeys.deliver() == 1
    [skipped] = [e for e in EventModel.scan() if e.type == "email_skipped"]
    assert skipped.properties.as_dict()["reason"] == "unsubscribed"
    audit = client.http.get(
        "/audit?action=POST%20/contacts", headers={"X-Api-Key": admin_key}
    ).json_body["entries"]
    assert [e["details"]["after"]["granted"] for e in audit] == [False]
    assert audit[0]["details"]["before"] is None  # Ada had said nothing about all email


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"consent": "purpose:spying", "granted": True, "source": "x", "version": "1"}, "consent"),
        ({"consent": "*", "granted": "no", "source": "x"}, "granted"),
        ({"consent": "*", "granted": False}, "source"),
        ({"consent": "purpose:sensitive", "granted": True, "source": "x"}, "version"),
    ],
)
def test_a_bad_change_names_its_field_and_changes_nothing(client, admin_key, ada, body, field):
    before = _consents()
    answer = _change(client, admin_key, ada, **body)
    assert answer.status_code == 422
    assert field in [f["field"] for f in answer.json_body["fields"]]
    assert _consents() == before


def test_an_unknown_contact_is_404(client, admin_key):
    answer = _change(
        client, admin_key, "ct_" + "0" * 32, consent="*", granted=False, source="phone"
    )
    assert answer.status_code == 404


def test_the_cli_records_a_withdrawal_and_the_audit_log_names_no_address(svc, ada, capsys):
    assert (
        main(
            [
                "contacts",
                "consent",
                "ada@example.com",
                "purpose:cross_border",
                "--withdrawn",
                "--source",
                "letter of 28 Nov",
            ]
        )
        == 0
    )
    assert "purpose:cross_border withdrawn" in capsys.readouterr().out
    assert _consents()["purpose:cross_border"]["granted"] is False

    assert main(["audit", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [e["action"] for e in entries] == ["cli contacts consent"]
    assert entries[0]["details"]["arguments"]["contact"] == "(an email address)"
    assert "ada@example.com" not in json.dumps(entries)
