"""What the creditor's API changes: its accounts, its negotiation policy, and when its agents answer.

Reading an account is `account_view`; each function here is one request of the creditor's API.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.models import Account, Creditor, NegotiationPolicy, utcnow
from api.schemas.creditor import AccountIn, AgentHoursIn, DebtorInformation, HandoffSettings, PolicyIn, ReferenceFormat
from api.services import contacts, follow_through, hours
from api.services.audit import audit
from api.services.errors import Conflict, ReferenceFormatMismatch
from api.services.follow_through import FollowThrough
from api.services.verification import DEFAULT_REFERENCE_EXAMPLE


def _actor(creditor: Creditor) -> str:
    return f"creditor:{creditor.id}"


def _check_reference(creditor: Creditor, reference: str) -> None:
    if creditor.reference_pattern and not re.fullmatch(creditor.reference_pattern, reference, re.IGNORECASE):
        raise ReferenceFormatMismatch()


def create_account(session: Session, creditor: Creditor, values: AccountIn) -> Account:
    """A new account; Conflict when the creditor already has one with this reference (update it instead)."""
    _check_reference(creditor, values.reference)
    exists = session.scalar(select(Account.id).where(Account.creditor_id == creditor.id, Account.reference == values.reference))
    if exists:
        raise Conflict()
    account = Account(creditor_id=creditor.id, **values.model_dump())
    session.add(account)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent POST with the same reference
        raise Conflict() from exc
    audit(session, _actor(creditor), "account_created", "account", account.reference)
    contacts.plan_first_contact(session, account, utcnow())
    return account


def update_account(session: Session, creditor: Creditor, account: Account, values: AccountIn) -> Account:
    _check_reference(creditor, values.reference)
    for field, value in values.model_dump().items():
        setattr(account, field, value)
    session.flush()
    audit(session, _actor(creditor), "account_updated", "account", account.reference)
    return account


def reference_format(session: Session, creditor: Creditor) -> ReferenceFormat:
    """The creditor's reference format, and how many of its accounts do not follow it."""
    example = creditor.reference_example or DEFAULT_REFERENCE_EXAMPLE
    not_matching = 0
    if creditor.reference_pattern:
        compiled = re.compile(creditor.reference_pattern, re.IGNORECASE)
        references = session.scalars(select(Account.reference).where(Account.creditor_id == creditor.id))
        not_matching = sum(1 for reference in references if not compiled.fullmatch(reference))
    return ReferenceFormat(pattern=creditor.reference_pattern, example=example, accounts_not_matching=not_matching)


def update_reference_format(session: Session, creditor: Creditor, values: ReferenceFormat) -> ReferenceFormat:
    creditor.reference_pattern, creditor.reference_example = values.pattern, values.example.upper()
    session.flush()
    audit(session, _actor(creditor), "reference_format_updated", "creditor", creditor.id, pattern=values.pattern)
    return reference_format(session, creditor)


def policy(session: Session, creditor: Creditor) -> NegotiationPolicy:
    """The creditor's negotiation policy (the defaults, stored, when it never set one)."""
    row = session.scalar(select(NegotiationPolicy).where(NegotiationPolicy.creditor_id == creditor.id))
    if row is None:
        row = NegotiationPolicy(creditor_id=creditor.id)
        session.add(row)
        session.flush()
    return row


def update_policy(session: Session, creditor: Creditor, values: PolicyIn) -> NegotiationPolicy:
    row = policy(session, creditor)
    for field, value in values.model_dump().items():
        setattr(row, field, value)
    session.flush()
    audit(session, _actor(creditor), "policy_updated", "policy", row.id, **values.model_dump())
    return row


def handoff_settings(creditor: Creditor) -> HandoffSettings:
    """The team's hours (the default hours when the creditor never set them), the wait it announces, and
    whether a person reviews disputes."""
    return HandoffSettings(
        agent_hours=AgentHoursIn(**(creditor.agent_hours or hours.DEFAULT_HOURS)),
        expected_wait_minutes=creditor.expected_wait_minutes,
        review_disputes=creditor.review_disputes,
    )


def update_handoff_settings(session: Session, creditor: Creditor, values: HandoffSettings) -> HandoffSettings:
    creditor.agent_hours = values.agent_hours.model_dump()
    creditor.expected_wait_minutes = values.expected_wait_minutes
    creditor.review_disputes = values.review_disputes
    audit(session, _actor(creditor), "handoff_settings_updated", "creditor", creditor.id, **values.model_dump())
    return handoff_settings(creditor)


def debtor_information(creditor: Creditor) -> DebtorInformation:
    return DebtorInformation.model_validate(
        {"support_resources": creditor.support_resources or {}, "complaint_escalation": creditor.complaint_escalation or {}}
    )


def update_debtor_information(session: Session, creditor: Creditor, values: DebtorInformation) -> DebtorInformation:
    creditor.support_resources = {str(k): v for k, v in values.support_resources.items()}
    creditor.complaint_escalation = {str(k): v for k, v in values.complaint_escalation.items()}
    audit(session, _actor(creditor), "debtor_information_updated", "creditor", creditor.id)
    return debtor_information(creditor)


def follow_through_settings(creditor: Creditor) -> FollowThrough:
    return follow_through.parse(creditor.follow_through)


def update_follow_through(session: Session, creditor: Creditor, values: FollowThrough) -> FollowThrough:
    creditor.follow_through = values.model_dump(mode="json", exclude_defaults=True)
    audit(session, _actor(creditor), "follow_through_updated", "creditor", creditor.id, **creditor.follow_through)
    return follow_through_settings(creditor)
