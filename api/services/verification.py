"""Right-party verification: two factors from the account, constant-time checks, lockout.

Nothing returned from here says which factor was wrong or whether a reference exists.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.models import Account, Conversation, VerificationAttempt, utcnow
from api.services.errors import VerificationLocked

# A reference that matches nothing, compared against when the reference is unknown so that the
# time taken does not tell whether a reference exists.
_NO_MATCH = "\x00" * 16


@dataclass(frozen=True)
class VerificationResult:
    verified: bool
    locked: bool
    attempts_left: int
    account: Account | None = None


def normalise_reference(text: str) -> str:
    return "".join(text.split()).upper()


def normalise_postcode(text: str) -> str:
    return "".join(text.split()).upper()


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def factors_match(
    account: Account | None,
    reference: str,
    date_of_birth: dt.date | None,
    postcode: str | None,
) -> bool:
    """True when the reference and one second factor (date of birth or postcode) match the account.

    Every comparison runs whatever the outcome of the others, so timing reveals nothing.
    """
    stored_reference = normalise_reference(account.reference) if account else _NO_MATCH
    stored_dob = account.date_of_birth.isoformat() if account and account.date_of_birth else _NO_MATCH
    stored_postcode = normalise_postcode(account.postcode) if account and account.postcode else _NO_MATCH
    given_dob = date_of_birth.isoformat() if date_of_birth else ""
    given_postcode = normalise_postcode(postcode) if postcode else ""

    reference_ok = _same(stored_reference, normalise_reference(reference))
    dob_ok = _same(stored_dob, given_dob)
    postcode_ok = _same(stored_postcode, given_postcode)
    return account is not None and reference_ok and (dob_ok or postcode_ok)


def failed_attempts(session: Session, conversation: Conversation) -> int:
    return session.scalar(
        select(func.count())
        .select_from(VerificationAttempt)
        .where(
            VerificationAttempt.conversation_id == conversation.id,
            VerificationAttempt.succeeded.is_(False),
        )
    ) or 0


def verify_identity(
    session: Session,
    conversation: Conversation,
    *,
    reference: str,
    date_of_birth: dt.date | None,
    postcode: str | None,
    max_attempts: int,
) -> VerificationResult:
    """Checks the two factors for this conversation and records the attempt."""
    if conversation.locked_at is not None:
        raise VerificationLocked()
    account = session.scalar(
        select(Account).where(
            Account.creditor_id == conversation.creditor_id,
            Account.reference == normalise_reference(reference),
        )
    )
    ok = factors_match(account, reference, date_of_birth, postcode)
    session.add(
        VerificationAttempt(
            conversation_id=conversation.id, account_id=account.id if ok and account else None, succeeded=ok
        )
    )
    if ok and account is not None:
        conversation.account_id = account.id
        conversation.verified_at = utcnow()
        conversation.language = account.language
        session.flush()
        return VerificationResult(verified=True, locked=False, attempts_left=max_attempts, account=account)

    session.flush()
    failures = failed_attempts(session, conversation)
    locked = failures >= max_attempts
    if locked:
        conversation.locked_at = utcnow()
    return VerificationResult(verified=False, locked=locked, attempts_left=max(0, max_attempts - failures))
