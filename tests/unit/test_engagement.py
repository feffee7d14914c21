"""Link tokens are accepted only in the exact form they were signed (opens and clicks as
people make them: tests/integration/test_engagement.py)."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.messaging.tokens import BadToken, Signer

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
SIGNER = Signer("test-secret-0123456789abcdef")


def _respellings(part: str) -> list[str]:
    """Other base64url spellings that decode to the same bytes as `part`."""
    out = [part + "=" * n for n in (1, 2)]
    out += [part[:i] + junk + part[i:] for junk in ("=", "\n", " ", "!") for i in (0, len(part))]
    unused = len(part) * 6 - len(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))) * 8
    if unused:
        last = ALPHABET.index(part[-1])
        for bit in range(unused):
            out.append(part[:-1] + ALPHABET[last ^ (1 << bit)])
    return out


@given(
    purpose=st.sampled_from(["click", "open", "unsubscribe"]),
    fields=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=4),
)
def test_a_token_spelled_any_other_way_is_refused(purpose, fields):
    fields = [f.replace("\x1f", "") or "x" for f in fields]
    fields = [f.encode("utf-8", "replace").decode() for f in fields]
    token = SIGNER.sign(purpose, *fields)
    assert SIGNER.verify(purpose, token) == fields
    payload, signature = token.split(".")
    variants = [f"{p}.{signature}" for p in _respellings(payload)]
    variants += [f"{payload}.{s}" for s in _respellings(signature)]
    for variant in variants:
        assert variant != token
        with pytest.raises(BadToken):
            SIGNER.verify(purpose, variant)
