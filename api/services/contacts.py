"""Follow-through: the contacts we initiate, from their planning to the moment they leave, and the
instalments the clock turns into misses.

Planning happens when something happens: a plan agreed (`plan_commitment`: a reminder N days before each
instalment, on its due date, within its grace period), an account placed (`plan_first_contact`), a payment
received (`on_payment`: thanks, or the claim it confirms). Every contact is a `contacts` row keyed so that
it is planned once. `sweep` (run by the scheduler with the clock it is given) turns instalments unpaid
after the grace period into misses and applies the creditor's missed-payment policy, and passes payment
claims still unconfirmed to an agent. `dispatch` takes the contacts that are due, asks the gate
(`contact_gate.decide`) and sends, defers or cancels each one, recording the decision.

Nothing is kept in memory: a restart resumes from the rows. Each due contact is claimed by a guarded UPDATE
in the transaction that writes its message (and candidates are read with `FOR UPDATE SKIP LOCKED` on
PostgreSQL), so two schedulers never send one contact twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api import i18n
from api.core.config import Settings
from api.core.logging import log
from api.db import rows_changed
from api.models import (
    Account,
    Commitment,
    Contact,
    ContactDecision,
    ContactPreference,
    Conversation,
    Creditor,
    Dispute,
    Instalment,
    Message,
    Payment,
    PaymentClaim,
)
from api.services import contact_gate, experiments, follow_through, handoffs, notices, outbound, records, signing
from api.services.audit import audit
from api.services.errors import OptedOut, OutsideWhatsAppWindow
from api.services.follow_through import FollowThrough
from api.services.offers import nth_due_date
from api.states import (
    OPEN_CONTACT_STATUSES,
    PHONE_CHANNELS,
    SERVICE_CONTACTS,
    AccountStatus,
    Author,
    CadenceSetting,
    Channel,
    CommitmentStatus,
    ContactKind,
    ContactStatus,
    ConversationState,
    Direction,
    DisputeStatus,
    HandoffReason,
    InstalmentStatus,
    MessageStatus,
    PaymentClaimStatus,
)

REMINDERS = (ContactKind.REMINDER_BEFORE, ContactKind.REMINDER_DUE, ContactKind.REMINDER_GRACE)
# The WhatsApp template a contact takes outside the 24-hour window: `contact_<kind>` when the deployment
# has one approved, otherwise the generic invitation to reopen the conversation.
GENERIC_TEMPLATE = "reopen_conversation"
CLOSED_ACCOUNT_STATUSES = frozenset({AccountStatus.PAID, AccountStatus.CLOSED})


# -------------------------------------------------------------------------------------------------------
# Planning
# -------------------------------------------------------------------------------------------------------


def settings_of(session: Session, account: Account) -> FollowThrough:
    creditor = session.get_one(Creditor, account.creditor_id)
    return follow_through.parse(creditor.follow_through)


def local_moment(day: dt.date, at: dt.time, timezone: str) -> dt.datetime:
    return dt.datetime.combine(day, at, tzinfo=ZoneInfo(timezone)).astimezone(dt.timezone.utc)


def plan(
    session: Session,
    *,
    key: str,
    kind: ContactKind,
    account: Account,
    at: dt.datetime,
    now: dt.datetime,
    commitment: Commitment | None = None,
    instalment: Instalment | None = None,
    payment: Payment | None = None,
    dispute: Dispute | None = None,
) -> Contact | None:
    """Plans one contact (None when this key was planned already: planning twice plans once). The gate's
    time rules apply at once: a moment outside the debtor's hours or on a quiet day is moved to the next
    allowed one, so what agents see as upcoming is when it will leave; the status rules are checked when
    it is due (a dispute may be resolved by then)."""
    if session.scalar(select(Contact.id).where(Contact.key == key)) is not None:
        return None
    preferred = _preference(session, account)
    allowed = contact_gate.next_allowed(
        at, ZoneInfo(account.timezone), settings_of(session, account), preferred.time_window if preferred else None
    )
    reason = "outside_contact_hours" if allowed != at else None
    contact = Contact(
        key=key,
        account_id=account.id,
        kind=kind,
        commitment_id=commitment.id if commitment else None,
        instalment_id=instalment.id if instalment else None,
        payment_id=payment.id if payment else None,
        dispute_id=dispute.id if dispute else None,
        planned_for=at,
        scheduled_for=allowed,
        status=ContactStatus.SCHEDULED,
        reason=reason,
        decisions=[ContactDecision(decided_at=now, outcome=ContactStatus.SCHEDULED, reason=reason, until=allowed)],
    )
    try:
        with session.begin_nested():  # planned at the same moment by another process: one row
            session.add(contact)
    except IntegrityError:
        return None
    return contact


def plan_instalment(
    session: Session, account: Account, commitment: Commitment, instalment: Instalment, settings: FollowThrough, now: dt.datetime
) -> int:
    """The reminders of one instalment for its current due date (those whose moment has passed are not
    planned: a reminder is never sent late). Answers how many were planned."""
    due = instalment.due_date
    # A running cadence experiment on the lead time gives the account its arm's one reminder instead.
    lead = experiments.cadence_for(session, account, CadenceSetting.REMINDER_DAYS_BEFORE, now)
    steps: list[tuple[ContactKind, dt.date, str]] = [
        (ContactKind.REMINDER_BEFORE, due - dt.timedelta(days=days), f"d-{days}")
        for days in (settings.reminder_days_before if lead is None else [lead])
    ]
    if settings.remind_on_due_date:
        steps.append((ContactKind.REMINDER_DUE, due, "d0"))
    steps.append((ContactKind.REMINDER_GRACE, due + dt.timedelta(days=settings.grace_reminder_days_after), "grace"))
    planned = 0
    for kind, day, step in steps:
        at = local_moment(day, settings.send_time, account.timezone)
        if at < now:
            continue
        key = f"{kind}:{instalment.id}:{due.isoformat()}:{step}"
        if plan(session, key=key, kind=kind, account=account, at=at, now=now, commitment=commitment, instalment=instalment):
            planned += 1
    return planned


def plan_commitment(session: Session, commitment: Commitment, now: dt.datetime) -> int:
    """Every reminder of a plan just agreed (called when the commitment is recorded)."""
    account = session.get_one(Account, commitment.account_id)
    settings = settings_of(session, account)
    session.flush()
    return sum(
        plan_instalment(session, account, commitment, instalment, settings, now)
        for instalment in commitment.instalments
        if instalment.status != InstalmentStatus.PAID
    )


def plan_first_contact(session: Session, account: Account, now: dt.datetime) -> Contact | None:
    """A newly placed account's opening contact, when the creditor wants one and the account has a number."""
    if not account.phone or not settings_of(session, account).first_contact:
        return None
    session.flush()
    return plan(
        session, key=f"{ContactKind.FIRST_CONTACT}:{account.id}", kind=ContactKind.FIRST_CONTACT, account=account, at=now, now=now
    )


def on_payment(session: Session, payment: Payment, now: dt.datetime) -> Contact | None:
    """A new payment: the claim it confirms, if any, is closed and the debtor told; otherwise thanks. Both
    say what remains. Misses in a row stop counting once an instalment is paid in full."""
    if payment.amount_minor <= 0:
        return None
    account = session.get_one(Account, payment.account_id)
    settings = settings_of(session, account)
    for allocation in payment.allocations:
        if allocation.instalment_id is not None:
            instalment = session.get_one(Instalment, allocation.instalment_id)
            if instalment.status == InstalmentStatus.PAID:
                session.get_one(Commitment, instalment.commitment_id).consecutive_misses = 0
    kind = ContactKind.PAYMENT_THANKS
    paid_on = payment.paid_at.astimezone(ZoneInfo(account.timezone)).date()
    window = dt.timedelta(days=settings.claim_match_days)
    claims = session.scalars(
        select(PaymentClaim).where(PaymentClaim.account_id == account.id, PaymentClaim.status == PaymentClaimStatus.TO_CHECK)
    ).all()
    for claim in claims:
        if claim.paid_on is None or abs(claim.paid_on - paid_on) <= window:
            claim.status = PaymentClaimStatus.CONFIRMED
            claim.payment_id = payment.id
            kind = ContactKind.CLAIM_CONFIRMED
            audit(session, "system", "payment_claim_confirmed", "payment_claim", claim.id, payment=payment.external_id)
    if kind == ContactKind.CLAIM_CONFIRMED and not any(c.status == PaymentClaimStatus.TO_CHECK for c in claims):
        account.reminders_paused = False
    return plan(session, key=f"{kind}:{payment.id}", kind=kind, account=account, at=now, now=now, payment=payment)


# -------------------------------------------------------------------------------------------------------
# The clock's work: misses, claims left unconfirmed
# -------------------------------------------------------------------------------------------------------


@dataclass
class SweepReport:
    missed: int = 0
    moved: int = 0
    broken: int = 0
    claims_escalated: int = 0
    follow_ups: int = 0


def sweep(session: Session, now: dt.datetime) -> SweepReport:
    """Instalments unpaid after their grace period become misses (and the creditor's policy applies);
    payment claims unconfirmed after the creditor's delay go to an agent."""
    report = SweepReport()
    # A coarse filter in SQL (the widest grace and timezone), the exact test per account below.
    latest_due = now.date() - dt.timedelta(days=1)
    rows = session.execute(
        select(Instalment, Commitment, Account)
        .join(Commitment, Instalment.commitment_id == Commitment.id)
        .join(Account, Commitment.account_id == Account.id)
        .where(Commitment.status == CommitmentStatus.ACTIVE)
        .where(Instalment.status.in_([InstalmentStatus.DUE, InstalmentStatus.MISSED]))
        .where(Instalment.paid_minor < Instalment.amount_minor)
        .where(Instalment.due_date <= latest_due)
        .order_by(Instalment.due_date, Instalment.sequence)
    ).all()
    settings_cache: dict[int, FollowThrough] = {}
    for instalment, commitment, account in rows:
        if commitment.status != CommitmentStatus.ACTIVE:  # broken earlier in this sweep
            continue
        if account.reminders_paused or account.vulnerable or account.restricted or account.status == AccountStatus.DISPUTED:
            continue  # nothing is asked meanwhile (a claim checked, a review, a dispute): nothing is missed either
        settings = settings_cache.get(account.creditor_id) or settings_of(session, account)
        settings_cache[account.creditor_id] = settings
        today = now.astimezone(ZoneInfo(account.timezone)).date()
        if today <= instalment.due_date + dt.timedelta(days=settings.grace_days):
            continue
        if (
            instalment.missed_at is not None
            and instalment.missed_at.astimezone(ZoneInfo(account.timezone)).date() > instalment.due_date
        ):
            continue  # this due date's miss is recorded already
        _miss(session, account, commitment, instalment, settings, now, report)
    _escalate_claims(session, now, report)
    _follow_up(session, now, report)
    return report


def _miss(
    session: Session,
    account: Account,
    commitment: Commitment,
    instalment: Instalment,
    settings: FollowThrough,
    now: dt.datetime,
    report: SweepReport,
) -> None:
    report.missed += 1
    instalment.status = InstalmentStatus.MISSED
    instalment.missed_at = now
    commitment.consecutive_misses += 1
    missed_due = instalment.due_date
    audit(
        session,
        "system",
        "instalment_missed",
        "commitment",
        commitment.reference,
        sequence=instalment.sequence,
        due_date=str(missed_due),
    )
    if commitment.consecutive_misses >= settings.break_after_consecutive_misses:
        report.broken += 1
        commitment.status = CommitmentStatus.BROKEN
        commitment.ended_at = now
        if account.status == AccountStatus.ARRANGED:  # a dispute under review stays disputed
            account.status = AccountStatus.ACTIVE
        audit(session, "system", "commitment_broken", "commitment", commitment.reference, misses=commitment.consecutive_misses)
        cancel_open(session, commitment.id, "plan_ended", now)
        plan(
            session,
            key=f"{ContactKind.PLAN_BROKEN}:{commitment.id}",
            kind=ContactKind.PLAN_BROKEN,
            account=account,
            at=now,
            now=now,
            commitment=commitment,
        )
        if settings.queue_on_break:
            _queue(session, account, commitment.conversation_id, HandoffReason.PLAN_BROKEN, now)
        return
    if settings.on_miss == "move_to_end":
        last = max(i.due_date for i in commitment.instalments)
        instalment.original_due_date = instalment.original_due_date or missed_due
        instalment.due_date = nth_due_date(last, 1, commitment.frequency or "monthly")  # type: ignore[arg-type]
        report.moved += 1
        plan_instalment(session, account, commitment, instalment, settings, now)
    plan(
        session,
        key=f"{ContactKind.INSTALMENT_MISSED}:{instalment.id}:{missed_due.isoformat()}",
        kind=ContactKind.INSTALMENT_MISSED,
        account=account,
        at=now,
        now=now,
        commitment=commitment,
        instalment=instalment,
    )


def cancel_open(session: Session, commitment_id: int, reason: str, now: dt.datetime) -> int:
    """Cancels the contacts still planned for a plan that ended (kept, broken, replaced)."""
    rows = session.scalars(
        select(Contact).where(
            Contact.commitment_id == commitment_id, Contact.status.in_(OPEN_CONTACT_STATUSES), Contact.kind.in_(REMINDERS)
        )
    ).all()
    for contact in rows:
        contact.status, contact.reason = ContactStatus.CANCELLED, reason
        contact.decisions.append(ContactDecision(decided_at=now, outcome=ContactStatus.CANCELLED, reason=reason))
    return len(rows)


def _queue(session: Session, account: Account, conversation_id: str | None, reason: HandoffReason, now: dt.datetime) -> None:
    """An agent's queue item on the account's latest conversation."""
    conversation = session.get(Conversation, conversation_id) if conversation_id else None
    if conversation is None:
        conversation = session.scalar(
            select(Conversation).where(Conversation.account_id == account.id).order_by(Conversation.created_at.desc()).limit(1)
        )
    if conversation is None:
        log.warning("no_conversation_to_queue", account_id=account.id, reason=reason)
        return
    handoffs.request_handoff(session, conversation, reason, actor="system", now=now)


def _escalate_claims(session: Session, now: dt.datetime, report: SweepReport) -> None:
    claims = session.scalars(
        select(PaymentClaim).where(PaymentClaim.status == PaymentClaimStatus.TO_CHECK, PaymentClaim.escalated_at.is_(None))
    ).all()
    for claim in claims:
        account = session.get_one(Account, claim.account_id)
        if now - claim.created_at < dt.timedelta(days=settings_of(session, account).claim_check_days):
            continue
        claim.escalated_at = now
        report.claims_escalated += 1
        _queue(session, account, claim.conversation_id, HandoffReason.PAYMENT_CLAIM, now)
        audit(session, "system", "payment_claim_escalated", "payment_claim", claim.id)


def _follow_up(session: Session, now: dt.datetime, report: SweepReport) -> None:
    """ "We will contact you again to find a solution": an account the debtor talked to us about, with no plan,
    no open review and no contact for `follow_up_days`, gets a follow-up — at most `max_follow_ups` in a row
    without an answer from the debtor."""
    last_talk = func.max(Conversation.last_message_at)
    rows = session.execute(
        select(Account, last_talk)
        .join(Conversation, Conversation.account_id == Account.id)
        .where(Account.status == AccountStatus.ACTIVE, Account.vulnerable.is_(False), Account.reminders_paused.is_(False))
        .where(Conversation.verified_at.is_not(None))
        .group_by(Account.id)
        .having(last_talk < now - dt.timedelta(days=1))
    ).all()
    for account, talked_at in rows:
        settings = settings_of(session, account)
        if talked_at is None or settings.max_follow_ups == 0:
            continue
        mine = session.execute(
            select(Contact.status, Contact.sent_at, Contact.planned_for, Contact.kind).where(
                Contact.account_id == account.id, Contact.kind.not_in(SERVICE_CONTACTS)
            )
        ).all()
        if any(status in OPEN_CONTACT_STATUSES for status, _, _, _ in mine):
            continue  # something is already on its way
        # A follow-up the gate cancelled (opted out everywhere, say) counts for the cadence too: the next is
        # considered a period later, not at every tick.
        cancelled = (
            planned for status, _, planned, kind in mine if status == ContactStatus.CANCELLED and kind == ContactKind.FOLLOW_UP
        )
        last = max([talked_at, *(sent for _, sent, _, _ in mine if sent is not None), *cancelled])
        # A running cadence experiment on the follow-up interval gives the account its arm's interval instead.
        every = experiments.cadence_for(session, account, CadenceSetting.FOLLOW_UP_DAYS, now) or settings.follow_up_days
        if now - last < dt.timedelta(days=every):
            continue
        answered_at = _last_inbound(session, account)
        unanswered = session.scalar(
            select(func.count()).where(
                Contact.account_id == account.id,
                Contact.kind == ContactKind.FOLLOW_UP,
                Contact.status == ContactStatus.SENT,
                Contact.sent_at > (answered_at or dt.datetime.min.replace(tzinfo=dt.timezone.utc)),
            )
        )
        if (unanswered or 0) >= settings.max_follow_ups:
            continue
        sequence = sum(
            1
            for _ in session.scalars(
                select(Contact.id).where(Contact.account_id == account.id, Contact.kind == ContactKind.FOLLOW_UP)
            )
        )
        if plan(
            session,
            key=f"{ContactKind.FOLLOW_UP}:{account.id}:{sequence + 1}",
            kind=ContactKind.FOLLOW_UP,
            account=account,
            at=now,
            now=now,
        ):
            report.follow_ups += 1


def _last_inbound(session: Session, account: Account) -> dt.datetime | None:
    return session.scalar(
        select(func.max(Message.created_at))
        .join(Conversation, Message.conversation_id == Conversation.id)
        .where(Message.direction == Direction.INBOUND)
        .where(Conversation.about(account.id))
    )


# -------------------------------------------------------------------------------------------------------
# Dispatch: the gate, then the one outbound writer
# -------------------------------------------------------------------------------------------------------


def due_contacts(session: Session, now: dt.datetime, limit: int) -> list[int]:
    """Ids of contacts due now (rows another scheduler holds are skipped on PostgreSQL)."""
    return list(
        session.scalars(
            select(Contact.id)
            .where(Contact.status.in_(OPEN_CONTACT_STATUSES), Contact.scheduled_for <= now)
            .order_by(Contact.scheduled_for, Contact.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def claim(session: Session, contact_id: int, now: dt.datetime) -> Contact | None:
    """The contact, if this transaction won it (a guarded UPDATE: the first statement of the transaction,
    so on SQLite it holds the write lock and reads what others committed). On PostgreSQL the row is locked
    with SKIP LOCKED first: a contact another scheduler is deciding is passed over, not waited for (two
    schedulers walking the same list would otherwise queue behind each other, one contact at a time)."""
    due = (Contact.id == contact_id, Contact.status.in_(OPEN_CONTACT_STATUSES), Contact.scheduled_for <= now)
    free = select(Contact.id).where(*due).with_for_update(skip_locked=True)
    won = rows_changed(session, update(Contact).where(Contact.id.in_(free), *due).values(status="sending"))
    if not won:
        return None
    contact = session.get_one(Contact, contact_id)
    session.refresh(contact)
    return contact


def decide_and_send(session: Session, settings: Settings, contact: Contact, now: dt.datetime) -> contact_gate.Decision:
    """Asks the gate and applies its answer to a claimed contact; a send writes the message row."""
    account = session.get_one(Account, contact.account_id)
    rules = settings_of(session, account)
    facts, conversations = _facts(session, settings, contact, account, now)
    decision = contact_gate.decide(facts, rules, now)
    if decision.outcome == "send":
        assert decision.channel is not None
        conversation = conversations.get(decision.channel) or _new_conversation(session, account, decision.channel)
        try:
            message = outbound.write(
                session, settings, conversation, _outbound(session, settings, contact, account, conversation, decision)
            )
        except (OptedOut, OutsideWhatsAppWindow) as exc:  # the writer's own rules have the last word
            decision = contact_gate.Decision("cancel", type(exc).__name__)
        else:
            session.flush()
            contact.conversation_id, contact.message_id, contact.channel, contact.sent_at = (
                conversation.id,
                message.id,
                decision.channel,
                now,
            )
    contact.status = {"send": ContactStatus.SENT, "defer": ContactStatus.DEFERRED, "cancel": ContactStatus.CANCELLED}[
        decision.outcome
    ]
    contact.reason = decision.reason
    if decision.outcome == "defer":
        assert decision.until is not None
        contact.scheduled_for = decision.until
    contact.decisions.append(
        ContactDecision(
            decided_at=now, outcome=contact.status, reason=decision.reason, until=decision.until, channel=decision.channel
        )
    )
    log.info("contact_decided", contact_id=contact.id, kind=contact.kind, outcome=contact.status, reason=decision.reason)
    return decision


def _facts(
    session: Session, settings: Settings, contact: Contact, account: Account, now: dt.datetime
) -> tuple[contact_gate.Facts, dict[Channel, Conversation]]:
    kind = ContactKind(contact.kind)
    preference = _preference(session, account)
    rules = settings_of(session, account)
    order = list(rules.channel_order)
    if preference is not None and preference.channel in PHONE_CHANNELS:
        order = [Channel(preference.channel), *[c for c in order if c != preference.channel]]
    channels: list[contact_gate.ChannelFacts] = []
    conversations: dict[Channel, Conversation] = {}
    if account.phone:
        for channel in order:
            conversation = _open_conversation(session, account, channel)
            if conversation is not None:
                conversations[channel] = conversation
            last = outbound.last_inbound_at(session, conversation.id) if conversation else None
            in_window = last is not None and now - last < dt.timedelta(hours=settings.whatsapp_session_hours)
            channels.append(
                contact_gate.ChannelFacts(
                    channel=channel,
                    opted_out=records.is_opted_out(session, channel, account.phone),
                    failed_permanently=_failed_permanently(session, channel, account.phone),
                    in_session_window=in_window,
                    template_available=_template(settings, kind) is not None,
                )
            )
    attempts = session.scalars(
        select(Contact.sent_at).where(
            Contact.account_id == account.id,
            Contact.status == ContactStatus.SENT,
            Contact.sent_at > now - contact_gate.ATTEMPT_WINDOW,
            Contact.kind.not_in(SERVICE_CONTACTS),
        )
    ).all()
    facts = contact_gate.Facts(
        kind=kind,
        timezone=ZoneInfo(account.timezone),
        channels=channels,
        moot=_moot(session, contact, account, now),
        dispute_open=account.status == AccountStatus.DISPUTED or _dispute_open(session, account),
        vulnerable=account.vulnerable,
        restricted=account.restricted,
        claim_pending=account.reminders_paused,
        preferred_window=preference.time_window if preference else None,
        recent_attempts=[a for a in attempts if a is not None],
    )
    return facts, conversations


def _preference(session: Session, account: Account) -> ContactPreference | None:
    """The debtor's latest stated preference (recorded on the account once verified)."""
    return session.scalar(
        select(ContactPreference)
        .where(ContactPreference.account_id == account.id)
        .order_by(ContactPreference.created_at.desc(), ContactPreference.id.desc())
        .limit(1)
    )


def _moot(session: Session, contact: Contact, account: Account, now: dt.datetime) -> str | None:
    """Why the contact has nothing left to do, if so."""
    if account.status in CLOSED_ACCOUNT_STATUSES and contact.kind not in SERVICE_CONTACTS:
        return "account_settled"
    if contact.kind in REMINDERS:
        commitment = session.get(Commitment, contact.commitment_id) if contact.commitment_id else None
        instalment = session.get(Instalment, contact.instalment_id) if contact.instalment_id else None
        if commitment is None or commitment.status != CommitmentStatus.ACTIVE:
            return "plan_ended"
        if instalment is None or instalment.paid_minor >= instalment.amount_minor:
            return "instalment_paid"
        if contact.key.split(":")[2] != instalment.due_date.isoformat():
            return "rescheduled"
        # Left late (the scheduler was stopped): a later reminder of the same instalment, also due, says it.
        later = exists().where(
            Contact.instalment_id == instalment.id,
            Contact.kind.in_(REMINDERS),
            Contact.status.in_(OPEN_CONTACT_STATUSES),
            Contact.planned_for > contact.planned_for,
            Contact.scheduled_for <= now,
        )
        if session.scalar(select(later)):
            return "superseded"
    if contact.kind == ContactKind.INSTALMENT_MISSED and contact.instalment_id is not None:
        instalment = session.get(Instalment, contact.instalment_id)
        if instalment is not None and instalment.paid_minor >= instalment.amount_minor:
            return "instalment_paid"  # paid between the miss and the moment the notice may leave
    if contact.kind == ContactKind.FIRST_CONTACT and _has_conversation(session, account):
        return "debtor_already_in_touch"
    return None


def _dispute_open(session: Session, account: Account) -> bool:
    return session.scalar(select(exists().where(Dispute.account_id == account.id, Dispute.status == DisputeStatus.OPEN))) or False


def _has_conversation(session: Session, account: Account) -> bool:
    return session.scalar(select(exists().where(Conversation.about(account.id)))) or False


def _failed_permanently(session: Session, channel: str, address: str) -> bool:
    return (
        session.scalar(
            select(
                exists().where(
                    Message.conversation_id == Conversation.id,
                    Conversation.channel == channel,
                    Conversation.channel_address == address,
                    Message.direction == Direction.OUTBOUND,
                    Message.status == MessageStatus.FAILED,
                )
            )
        )
        or False
    )


def _open_conversation(session: Session, account: Account, channel: Channel) -> Conversation | None:
    """The open conversation on this account's number and channel, if it is this creditor's."""
    assert account.phone is not None
    return session.scalar(
        select(Conversation)
        .where(Conversation.channel == channel, Conversation.channel_address == account.phone)
        .where(Conversation.state != ConversationState.CLOSED, Conversation.creditor_id == account.creditor_id)
        .order_by(Conversation.created_at.desc())
        .limit(1)
    )


def _new_conversation(session: Session, account: Account, channel: Channel) -> Conversation:
    """A conversation we open: the debtor's answer lands in it (it is the latest on the number); it is not
    verified, so the bot verifies before any detail, as in a conversation the debtor opens."""
    assert account.phone is not None
    conversation = Conversation(
        creditor_id=account.creditor_id, channel=channel, channel_address=account.phone, candidate_account_id=account.id
    )
    session.add(conversation)
    session.flush()
    return conversation


def _verified_address(session: Session, account: Account, channel: str) -> bool:
    """May a message on this channel carry the debt's details? Only when the debtor proved who they are and
    then either used the account's number on this channel, or asked to be contacted on this channel (a
    preference is recorded on the account only once verified): nothing about the debt to a third party."""
    used = exists().where(
        Conversation.account_id == account.id,
        Conversation.verified_at.is_not(None),
        Conversation.channel == channel,
        Conversation.channel_address == account.phone,
    )
    asked = exists().where(ContactPreference.account_id == account.id, ContactPreference.channel == channel)
    return session.scalar(select(or_(used, asked))) or False


def _template(settings: Settings, kind: ContactKind) -> str | None:
    for name in (f"contact_{kind}", GENERIC_TEMPLATE):
        if name in settings.whatsapp_templates:
            return name
    return None


def _outbound(
    session: Session,
    settings: Settings,
    contact: Contact,
    account: Account,
    conversation: Conversation,
    decision: contact_gate.Decision,
) -> outbound.Outbound:
    kind = ContactKind(contact.kind)
    creditor = session.get_one(Creditor, account.creditor_id)
    if decision.template:
        template = _template(settings, kind)
        return outbound.Outbound(
            text="",
            author=Author.SYSTEM,
            kind=f"contact_{kind}",
            template=template,
            variables={"1": settings.collector_name, "2": creditor.name},
        )
    language = account.language or settings.default_language
    detailed = kind in (ContactKind.FIRST_CONTACT,) or _verified_address(session, account, conversation.channel)
    text = contact_text(session, settings, contact, account, creditor, language, detailed=detailed)
    return outbound.Outbound(text=text, author=Author.SYSTEM, kind=f"contact_{kind}")


def contact_text(
    session: Session, settings: Settings, contact: Contact, account: Account, creditor: Creditor, language: str, *, detailed: bool
) -> str:
    """The message of a contact in the debtor's language. Without a verified number it says nothing about
    the debt (a reply starts the identity check); the first contact never does."""
    kind = ContactKind(contact.kind)
    params: dict[str, str] = {"collector": settings.collector_name, "creditor": creditor.name}
    if kind == ContactKind.DISPUTE_ANSWER:
        # The link says nothing by itself: the document opens only after the date of birth is given.
        dispute = session.get_one(Dispute, contact.dispute_id)
        link = signing.document_url(dispute.answer_confirmation_id or "", settings)
        return f"{i18n.t('contact.dispute_answer', language, link=link, **params)} {i18n.t('contact.footer', language)}"
    if kind == ContactKind.FIRST_CONTACT:
        # The written notice (R124-4: basis, principal, interest, charges, how to pay) behind a link that
        # opens after the date of birth: the message itself says nothing about the debt.
        notice = notices.first_notice(session, account, settings)
        link = signing.document_url(notice.id, settings)
        body = i18n.t("contact.first_contact", language, notice=notice.number, link=link, **params)
        return f"{body} {i18n.t('contact.footer', language, **params)}"
    if not detailed:
        body = i18n.t("contact.discreet", language, **params)
        return f"{body} {i18n.t('contact.footer', language, **params)}"

    def money(minor: int) -> str:
        return i18n.format_money(minor, account.currency, language)

    instalment = session.get(Instalment, contact.instalment_id) if contact.instalment_id else None
    commitment = session.get(Commitment, contact.commitment_id) if contact.commitment_id else None
    payment = session.get(Payment, contact.payment_id) if contact.payment_id else None
    if instalment is not None:
        params.update(
            amount=money(instalment.amount_minor - instalment.paid_minor), date=i18n.format_date(instalment.due_date, language)
        )
    if commitment is not None:
        params["reference"] = commitment.reference
    if payment is not None:
        params["paid"] = money(payment.amount_minor)
    remaining = account.balance_minor + account.fees_minor
    params["remaining"] = money(remaining)
    key = str(kind)
    if kind in (ContactKind.PAYMENT_THANKS, ContactKind.CLAIM_CONFIRMED):
        upcoming = _next_instalment(session, account)
        if remaining <= 0:
            key += "_settled"
        elif upcoming is not None:
            key += "_next"
            params.update(
                next_amount=money(upcoming.amount_minor - upcoming.paid_minor),
                next_date=i18n.format_date(upcoming.due_date, language),
            )
    elif (
        kind == ContactKind.INSTALMENT_MISSED
        and instalment is not None
        and instalment.original_due_date
        and instalment.due_date != instalment.original_due_date
    ):
        key += "_moved"
        params["missed_date"] = i18n.format_date(instalment.original_due_date, language)
    body = i18n.t(f"contact.{key}", language, **params)
    return f"{body} {i18n.t('contact.footer', language, **params)}"


def _next_instalment(session: Session, account: Account) -> Instalment | None:
    return session.scalar(
        select(Instalment)
        .join(Commitment, Instalment.commitment_id == Commitment.id)
        .where(Commitment.account_id == account.id, Commitment.status == CommitmentStatus.ACTIVE)
        .where(Instalment.paid_minor < Instalment.amount_minor)
        .order_by(Instalment.due_date, Instalment.sequence)
        .limit(1)
    )


# -------------------------------------------------------------------------------------------------------
# The account's contacts, for the account view and the console
# -------------------------------------------------------------------------------------------------------


def contacts_of(session: Session, account_id: int) -> list[Contact]:
    return list(
        session.scalars(select(Contact).where(Contact.account_id == account_id).order_by(Contact.planned_for, Contact.id))
    )
