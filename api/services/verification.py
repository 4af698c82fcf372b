"""Right-party verification: the reference and the date of birth, constant-time checks, two locks.

The factor rule: the file reference plus the date of birth. The postcode alone no longer verifies: a French
postcode is one of about 6,000 values and can be guessed from a town, while a date of birth is one of
about 25,000 plausible values and is not printed on anything we send. An account without a date of birth
on file is verified by a person.

Two locks stop guessing:
- a conversation allows `verification_max_attempts` failures, then only a person can help there;
- a reference allows `verification_max_failures_per_reference` failures across every conversation and
  channel (since its last success or unlock), then nobody verifies on it until an agent or the creditor
  unlocks it. The lock is keyed by a digest of the reference, known or not, so an unknown reference locks
  exactly as a real one does, and a locked reference answers exactly as a wrong date of birth does.

Nothing returned from here says which factor was wrong, whether a reference exists, or how many tries
are left.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.core.config import Settings
from api.models import Account, Conversation, Signal, VerificationAttempt, VerificationLock, utcnow
from api.services.audit import audit
from api.services.errors import VerificationLocked

# A value that matches nothing, compared against when the reference is unknown so that the time taken
# does not tell whether a reference exists.
_NO_MATCH = "\x00" * 16


@dataclass(frozen=True)
class VerificationResult:
    verified: bool
    # This conversation may not try again (a person takes over).
    locked: bool
    # The reference is locked across conversations: told to agents only, never to the debtor's side.
    reference_locked: bool = False
    account: Account | None = None


# What a debtor asked for their reference is shown when the creditor named no example of its own.
DEFAULT_REFERENCE_EXAMPLE = "CR-12345"


def normalise_reference(text: str) -> str:
    return "".join(text.split()).upper()


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def factors_match(account: Account | None, reference: str, date_of_birth: dt.date | None) -> bool:
    """True when the reference and the date of birth both match the account.

    Both comparisons run whatever the outcome of the other, so timing reveals nothing.
    """
    stored_reference = normalise_reference(account.reference) if account else _NO_MATCH
    stored_dob = account.date_of_birth.isoformat() if account and account.date_of_birth else _NO_MATCH
    reference_ok = _same(stored_reference, normalise_reference(reference))
    dob_ok = _same(stored_dob, date_of_birth.isoformat() if date_of_birth else "")
    return account is not None and reference_ok and dob_ok


def reference_digest(secret_key: str, creditor_id: int, reference: str) -> str:
    """The keyed digest a reference is counted and locked under (the reference itself is not stored)."""
    message = f"{creditor_id}:{normalise_reference(reference)}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def failed_attempts(session: Session, conversation: Conversation) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(VerificationAttempt)
            .where(
                VerificationAttempt.conversation_id == conversation.id,
                VerificationAttempt.succeeded.is_(False),
            )
        )
        or 0
    )


def active_lock(session: Session, digest: str) -> VerificationLock | None:
    return session.scalar(
        select(VerificationLock).where(VerificationLock.reference_digest == digest, VerificationLock.unlocked_at.is_(None))
    )


def _reference_failures(session: Session, digest: str) -> int:
    """Failures on this reference since it was last verified or unlocked, across all conversations."""
    last_success = session.scalar(
        select(func.max(VerificationAttempt.created_at)).where(
            VerificationAttempt.reference_digest == digest, VerificationAttempt.succeeded.is_(True)
        )
    )
    last_unlock = session.scalar(
        select(func.max(VerificationLock.unlocked_at)).where(VerificationLock.reference_digest == digest)
    )
    query = (
        select(func.count())
        .select_from(VerificationAttempt)
        .where(VerificationAttempt.reference_digest == digest, VerificationAttempt.succeeded.is_(False))
    )
    since = max((t for t in (last_success, last_unlock) if t is not None), default=None)
    if since is not None:
        query = query.where(VerificationAttempt.created_at > since)
    return session.scalar(query) or 0


def verify_identity(
    session: Session,
    conversation: Conversation,
    settings: Settings,
    *,
    reference: str,
    date_of_birth: dt.date | None,
    by_agent: bool = False,
) -> VerificationResult:
    """Checks the two factors for this conversation, records the attempt and applies both locks.

    An agent who has taken the conversation over may check again in a conversation the bot locked (that is
    why it was handed over); the reference's lock holds for agents too until one of them lifts it.
    """
    if conversation.locked_at is not None and not by_agent:
        raise VerificationLocked()
    digest = reference_digest(settings.secret_key, conversation.creditor_id, reference)
    account = session.scalar(
        select(Account).where(
            Account.creditor_id == conversation.creditor_id,
            Account.reference == normalise_reference(reference),
        )
    )
    ok, reference_locked = _attempt(session, settings, digest, account, reference, date_of_birth, conversation.id)
    if ok and account is not None:
        conversation.account_id = account.id
        conversation.verified_at = utcnow()
        conversation.locked_at = None
        conversation.language = account.language
        _carry_over_what_was_said(session, conversation, account)
        session.flush()
        return VerificationResult(verified=True, locked=False, account=account)

    locked = failed_attempts(session, conversation) >= settings.verification_max_attempts
    if locked and conversation.locked_at is None:
        conversation.locked_at = utcnow()
    return VerificationResult(verified=False, locked=locked, reference_locked=reference_locked)


def _carry_over_what_was_said(session: Session, conversation: Conversation, account: Account) -> None:
    """What the debtor said before proving who they are belongs to their account once they have: the signals
    of this conversation are attached to it, and distress said before the check flags it (the care answer and
    the handoff were given at once), unless a person has reviewed the account's care since."""
    earlier = session.scalars(select(Signal).where(Signal.conversation_id == conversation.id, Signal.account_id.is_(None))).all()
    for signal in earlier:
        signal.account_id = account.id
    reviewed = account.care_reviewed_at
    distress = [s for s in earlier if s.kind == "vulnerability" and (reviewed is None or s.created_at > reviewed)]
    if distress and not account.vulnerable:
        account.vulnerable = True
        audit(session, "bot", "vulnerability_flagged", "account", account.id, verified=True, said_before_verification=True)


def _attempt(
    session: Session,
    settings: Settings,
    digest: str,
    account: Account | None,
    reference: str,
    date_of_birth: dt.date | None,
    conversation_id: str | None,
) -> tuple[bool, bool]:
    """One try at the two factors, from a conversation or a document link: compared, recorded, and counted
    against the reference's lock. Returns (verified, the reference is locked)."""
    reference_locked = active_lock(session, digest) is not None
    ok = factors_match(account, reference, date_of_birth) and not reference_locked
    session.add(
        VerificationAttempt(
            conversation_id=conversation_id,
            account_id=account.id if ok and account else None,
            reference_digest=digest,
            succeeded=ok,
        )
    )
    session.flush()
    if not ok and not reference_locked:
        reference_locked = _lock_after_too_many_failures(session, settings, digest, account)
    return ok, reference_locked


def _lock_after_too_many_failures(session: Session, settings: Settings, digest: str, account: Account | None) -> bool:
    """Locks the reference once its failures reach the limit; returns whether it locked it now."""
    if _reference_failures(session, digest) < settings.verification_max_failures_per_reference:
        return False
    session.add(VerificationLock(reference_digest=digest))
    # The account (when there is one) is named in the audit log only: the debtor's side hears nothing.
    audit(session, "system", "verification_reference_locked", "account", account.reference if account else None)
    return True


def check_document_holder(session: Session, settings: Settings, account: Account, date_of_birth: dt.date | None) -> bool:
    """The second factor asked of whoever opens a document link (a forwarded SMS, a shared phone). Its
    failures count against the account's reference like any other, and its lock applies here too."""
    digest = reference_digest(settings.secret_key, account.creditor_id, account.reference)
    ok, _ = _attempt(session, settings, digest, account, account.reference, date_of_birth, None)
    audit(session, "debtor", "document_opened" if ok else "document_refused", "account", account.reference)
    return ok


def account_is_locked(session: Session, account: Account, settings: Settings) -> bool:
    digest = reference_digest(settings.secret_key, account.creditor_id, account.reference)
    return active_lock(session, digest) is not None


def unlock_reference(session: Session, settings: Settings, creditor_id: int, reference: str, by: str) -> bool:
    """Lifts the lock on a reference (an agent who checked the debtor otherwise, or the creditor).

    Returns whether there was a lock. The failure count starts again from now.
    """
    lock = active_lock(session, reference_digest(settings.secret_key, creditor_id, reference))
    if lock is None:
        return False
    lock.unlocked_at = utcnow()
    lock.unlocked_by = by
    session.flush()
    audit(session, by, "verification_reference_unlocked", "account", normalise_reference(reference))
    return True
