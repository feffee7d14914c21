"""Numbers a form field cannot store are refused where the submission is parsed, naming the
field (pure capture; the routes over HTTP: tests/e2e/test_bad_input.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib import payload
from chalicelib.errors import FormValidationError
from chalicelib.leads.capture import RequestMeta, capture
from chalicelib.leads.form_language import Form

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

QUOTE = Form(
    id="quote",
    name="Quote",
    fields=[{"name": "email", "type": "email"}, {"name": "seats", "type": "number"}],
)


@pytest.mark.parametrize("typed", ["1e200", "-1e200", "1e-200", "1e400", "nan", "inf"])
def test_a_number_field_refuses_what_dynamodb_cannot_store(typed):
    with pytest.raises(FormValidationError) as refused:
        capture(QUOTE, {"email": "ada@example.com", "seats": typed}, RequestMeta(), NOW)

    assert [f.field for f in refused.value.fields] == ["seats"]


@pytest.mark.parametrize("typed", ["12", "1,250", "0.5", "1e20", "9" * 45, "１２"])
def test_a_number_field_keeps_what_dynamodb_stores(typed):
    submission = capture(QUOTE, {"email": "ada@example.com", "seats": typed}, RequestMeta(), NOW)

    seats = submission.properties["seats"]
    assert payload.number_fault(seats) is None
    assert not isinstance(seats, int) or len(str(abs(seats))) <= payload.MAX_DIGITS
