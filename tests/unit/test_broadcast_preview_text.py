"""`leadflow broadcasts preview` says when an A/B test's share took no one."""

from __future__ import annotations

from chalicelib.cli.broadcasts import _preview_text

PREVIEW = {
    "id": "webinar-invite",
    "audience": 4,
    "sends": {"winner": 4},
    "skipped": {},
    "waves": {"2026-12-08T13:00:00+00:00": 4},
}


def test_a_test_that_took_no_one_is_named_with_the_variant_everyone_gets():
    text = _preview_text({**PREVIEW, "untested": "date"})
    assert text.splitlines()[-1] == (
        "  no one falls in the test's share of so small an audience: everyone gets the "
        "first variant, date, when the test is judged"
    )
    assert "no one falls" not in _preview_text({**PREVIEW, "untested": None})
