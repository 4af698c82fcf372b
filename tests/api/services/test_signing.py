"""Signed document links open only what they were made for, and only while they are fresh."""

import pytest
from itsdangerous import TimestampSigner

from api.services.errors import DomainError, ExpiredLink, InvalidLink
from api.services.signing import sign_token, verify_token

SECRET = "test-secret-not-for-production"
PURPOSE = "confirmation-pdf"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """itsdangerous reads the time through TimestampSigner.get_timestamp: set it instead of sleeping."""
    now = [1_767_225_600]  # 2026-01-01T00:00:00Z
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: now[0])
    return now


def test_a_signed_token_gives_back_its_payload() -> None:
    token = sign_token("conf_42", SECRET, PURPOSE)

    assert verify_token(token, SECRET, PURPOSE, max_age_seconds=3600) == "conf_42"


def test_a_token_is_safe_to_put_in_a_url() -> None:
    token = sign_token("conf/42 é?&", SECRET, PURPOSE)

    assert all(ch.isalnum() or ch in "-_." for ch in token)
    assert verify_token(token, SECRET, PURPOSE, max_age_seconds=3600) == "conf/42 é?&"


def test_a_tampered_token_is_invalid() -> None:
    token = sign_token("conf_42", SECRET, PURPOSE)
    _, rest = token.split(".", 1)
    forged = sign_token("conf_43", SECRET, PURPOSE).split(".", 1)[0] + "." + rest

    # Change a character inside the signature: the last base64 character may carry only padding bits,
    # so changing it can leave the decoded signature the same.
    inside = len(token) - 5
    tampered = token[:inside] + ("A" if token[inside] != "A" else "B") + token[inside + 1 :]
    for bad in (forged, tampered, "not-a-token", ""):
        with pytest.raises(InvalidLink):
            verify_token(bad, SECRET, PURPOSE, max_age_seconds=3600)


def test_a_token_made_for_another_purpose_is_invalid() -> None:
    token = sign_token("conf_42", SECRET, "password-reset")

    with pytest.raises(InvalidLink):
        verify_token(token, SECRET, PURPOSE, max_age_seconds=3600)


def test_a_token_signed_with_another_secret_is_invalid() -> None:
    token = sign_token("conf_42", "another-secret", PURPOSE)

    with pytest.raises(InvalidLink):
        verify_token(token, SECRET, PURPOSE, max_age_seconds=3600)


def test_a_token_older_than_its_max_age_has_expired(clock: list[int]) -> None:
    token = sign_token("conf_42", SECRET, PURPOSE)

    clock[0] += 3600
    assert verify_token(token, SECRET, PURPOSE, max_age_seconds=3600) == "conf_42"
    clock[0] += 1
    with pytest.raises(ExpiredLink):
        verify_token(token, SECRET, PURPOSE, max_age_seconds=3600)


def test_a_negative_max_age_expires_at_once() -> None:
    token = sign_token("conf_42", SECRET, PURPOSE)

    with pytest.raises(ExpiredLink):
        verify_token(token, SECRET, PURPOSE, max_age_seconds=-1)


def test_link_errors_are_domain_errors_with_distinct_codes() -> None:
    assert issubclass(InvalidLink, DomainError) and issubclass(ExpiredLink, DomainError)
    assert not issubclass(ExpiredLink, InvalidLink)  # an expired link gets its own, kinder message
    assert InvalidLink.code != ExpiredLink.code


def test_a_purpose_is_required() -> None:
    with pytest.raises(ValueError):
        sign_token("conf_42", SECRET, "")
