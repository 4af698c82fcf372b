"""Right-party verification: reference plus date of birth, compared without leaking which failed."""

from __future__ import annotations

import datetime as dt

import pytest

from api.models import Account
from api.services import verification
from api.services.verification import factors_match, reference_digest


@pytest.fixture
def account() -> Account:
    return Account(reference="CR-10001", date_of_birth=dt.date(1985, 3, 12), postcode="75011", debtor_name="x")


@pytest.mark.parametrize("reference", ["CR-10001", "cr-10001", " CR 10001".replace(" 1", "-1")])
def test_reference_and_date_of_birth_match(account, reference):
    assert factors_match(account, reference, dt.date(1985, 3, 12))


@pytest.mark.parametrize(
    ("reference", "dob"),
    [
        ("CR-10002", dt.date(1985, 3, 12)),  # wrong reference
        ("CR-10001", dt.date(1985, 3, 13)),  # wrong date of birth
        ("CR-10001", None),  # the reference alone is one factor, not two
    ],
)
def test_anything_less_than_two_right_factors_fails(account, reference, dob):
    assert not factors_match(account, reference, dob)


def test_an_account_without_a_date_of_birth_cannot_be_verified_by_the_bot():
    account = Account(reference="CR-10001", date_of_birth=None, postcode="75011", debtor_name="x")
    assert not factors_match(account, "CR-10001", None)
    assert not factors_match(account, "CR-10001", dt.date(1985, 3, 12))


def test_an_unknown_reference_fails_like_a_wrong_factor():
    assert not factors_match(None, "CR-10001", dt.date(1985, 3, 12))


def test_comparisons_are_constant_time(monkeypatch, account):
    calls = []
    real = verification.hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(verification.hmac, "compare_digest", spy)
    factors_match(account, "WRONG", None)
    factors_match(None, "CR-10001", dt.date(1985, 3, 12))
    # Both factors are compared every time, whatever fails first.
    assert len(calls) == 4


def test_reference_digest_is_keyed_per_creditor_and_ignores_spacing_and_case():
    digest = reference_digest("key", 1, "CR-10001")
    assert digest == reference_digest("key", 1, " cr-10001 ")
    assert digest != reference_digest("key", 2, "CR-10001")
    assert digest != reference_digest("other key", 1, "CR-10001")
    assert "CR-10001" not in digest and len(digest) == 64
