"""Right-party verification: reference plus one second factor, compared without leaking which failed."""

from __future__ import annotations

import datetime as dt

import pytest

from api.models import Account
from api.services import verification
from api.services.verification import factors_match


@pytest.fixture
def account() -> Account:
    return Account(reference="CR-10001", date_of_birth=dt.date(1985, 3, 12), postcode="75011", debtor_name="x")


@pytest.mark.parametrize(
    ("reference", "dob", "postcode"),
    [
        ("CR-10001", dt.date(1985, 3, 12), None),
        ("cr-10001", None, "75011"),
        (" CR 10001".replace(" 1", "-1"), None, " 75 011 "),
        ("CR-10001", dt.date(1990, 1, 1), "75011"),  # one right second factor is enough
    ],
)
def test_reference_and_one_second_factor_match(account, reference, dob, postcode):
    assert factors_match(account, reference, dob, postcode)


@pytest.mark.parametrize(
    ("reference", "dob", "postcode"),
    [
        ("CR-10002", dt.date(1985, 3, 12), "75011"),  # wrong reference
        ("CR-10001", dt.date(1985, 3, 13), None),  # wrong date of birth
        ("CR-10001", None, "75012"),  # wrong postcode
        ("CR-10001", None, None),  # the reference alone is one factor, not two
        ("CR-10001", None, ""),
    ],
)
def test_anything_less_than_two_right_factors_fails(account, reference, dob, postcode):
    assert not factors_match(account, reference, dob, postcode)


def test_an_unknown_reference_fails_like_a_wrong_factor():
    assert not factors_match(None, "CR-10001", dt.date(1985, 3, 12), "75011")


def test_comparisons_are_constant_time(monkeypatch, account):
    calls = []
    real = verification.hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(verification.hmac, "compare_digest", spy)
    factors_match(account, "WRONG", None, None)
    factors_match(None, "CR-10001", dt.date(1985, 3, 12), None)
    # Every factor is compared every time, whatever fails first.
    assert len(calls) == 6
