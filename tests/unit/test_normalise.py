"""leads/normalise.py: the remembered domain checks answer as email-validator does."""

from __future__ import annotations

import sys

import pytest
from email_validator import validate_email

from chalicelib.leads import normalise

CHECK = sys.modules[validate_email.__module__].validate_email_domain_name


def test_addresses_at_one_domain_are_checked_once_and_normalised_as_before():
    before = CHECK.cache_info()
    addresses = [f"Person.{i}@Bücher.example" for i in range(5)]

    got = [normalise.email(a) for a in addresses]

    after = CHECK.cache_info()
    fresh = [validate_email(a, check_deliverability=False).normalized.lower() for a in addresses]
    assert got == fresh == [f"person.{i}@bücher.example" for i in range(5)]
    assert after.hits - before.hits >= len(addresses) - 1


@pytest.mark.parametrize("attempt", [1, 2])
def test_a_bad_domain_is_refused_every_time(attempt):
    with pytest.raises(normalise.InvalidValue, match="hyphen"):
        normalise.email(f"someone{attempt}@-bad-.example")
