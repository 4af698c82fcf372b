"""The domain's vocabulary of states, statuses and kinds, one StrEnum each (they compare equal to the strings
stored in the database). Models, services, schemas and doors all use these names."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    WEBCHAT = "webchat"
    SMS = "sms"
    WHATSAPP = "whatsapp"


PHONE_CHANNELS = frozenset({Channel.SMS, Channel.WHATSAPP})


class AgentRole(StrEnum):
    """What a person signed in to the console may do (api/deps.py enforces it)."""

    AGENT = "agent"  # works the queue: claims handoffs, replies to debtors, records what was agreed
    MANAGER = "manager"  # reads the dashboard of the creditors they see, and changes nothing


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Author(StrEnum):
    DEBTOR = "debtor"
    BOT = "bot"
    AGENT = "agent"
    SYSTEM = "system"


class AccountStatus(StrEnum):
    ACTIVE = "active"
    DISPUTED = "disputed"
    ARRANGED = "arranged"
    PAID = "paid"
    CLOSED = "closed"


class ConversationState(StrEnum):
    BOT = "bot"
    WAITING_FOR_AGENT = "waiting_for_agent"
    AGENT = "agent"
    CLOSED = "closed"


class CommitmentStatus(StrEnum):
    ACTIVE = "active"
    KEPT = "kept"
    BROKEN = "broken"
    CANCELLED = "cancelled"
    # A new plan was agreed in its place (only one commitment is active at a time).
    REPLACED = "replaced"


class InstalmentStatus(StrEnum):
    DUE = "due"
    PAID = "paid"
    MISSED = "missed"


class OfferStatus(StrEnum):
    PROPOSED = "proposed"
    COUNTERED = "countered"
    SUMMARISED = "summarised"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REPLACED = "replaced"


class DisputeStatus(StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    REJECTED = "rejected"


class PaymentClaimStatus(StrEnum):
    TO_CHECK = "to_check"
    CONFIRMED = "confirmed"
    NOT_FOUND = "not_found"


class ConsentKind(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"


class HandoffStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    CLOSED = "closed"


class HandoffReason(StrEnum):
    VULNERABILITY = "vulnerability"
    VERIFICATION_LOCKED = "verification_locked"
    COMPLAINT = "complaint"
    REQUEST_HUMAN = "request_human"
    REPEATED_FALLBACK = "repeated_fallback"
    OUTSIDE_POLICY = "outside_policy"
    DISPUTE = "dispute"
    AGENT_TAKEOVER = "agent_takeover"
    PLAN_BROKEN = "plan_broken"  # the missed-payment policy ended a plan
    PAYMENT_CLAIM = "payment_claim"  # "already paid", still unconfirmed after the creditor's delay
    DOCUMENT_REQUEST = "document_request"  # a copy of the invoice or contract the debt is based on, to send
    AFFORDABILITY = "affordability"  # even the policy's minimum is beyond what the debtor's budget allows


class BudgetSource(StrEnum):
    """Where a debtor's income-and-expenditure statement was given (api/services/affordability.py)."""

    CHAT = "chat"  # answered one question at a time in the conversation
    WEB_FORM = "web_form"  # typed on the page a signed link opens


class BudgetPeriod(StrEnum):
    """How often an amount the debtor gives comes in or goes out; every figure is kept per month."""

    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"
    YEARLY = "yearly"


class MessageStatus(StrEnum):
    # inbound
    RECEIVED = "received"
    PROCESSED = "processed"
    REJECTED = "rejected"
    FOR_AGENT = "for_agent"
    # outbound (the web chat: sent at once; SMS/WhatsApp through the outbox)
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    BLOCKED = "blocked"


class AllocationKind(StrEnum):
    INSTALMENT = "instalment"  # towards an instalment of a commitment
    BALANCE = "balance"  # towards what is owed, outside any plan (no active commitment)
    CREDIT = "credit"  # beyond the plan or what is owed: kept on the account


class PaymentMethod(StrEnum):
    TRANSFER = "transfer"
    CARD = "card"
    CHEQUE = "cheque"
    DIRECT_DEBIT = "direct_debit"
    CASH = "cash"
    OTHER = "other"


class ContactKind(StrEnum):
    """Contacts we initiate (`api/services/contacts.py`). Collection contacts ask for money; service contacts
    answer something (a payment's thanks, a claim checked, a dispute answered) and are never held back by a
    dispute, a vulnerability review or the attempt cap."""

    FIRST_CONTACT = "first_contact"  # a newly placed account: who we are, then verification
    REMINDER_BEFORE = "reminder_before"  # N days before an instalment
    REMINDER_DUE = "reminder_due"  # on the due date
    REMINDER_GRACE = "reminder_grace"  # unpaid after the due date, within the grace period
    INSTALMENT_MISSED = "instalment_missed"  # the grace period is over: what the policy did
    PLAN_BROKEN = "plan_broken"  # the plan ended: an invitation to talk
    FOLLOW_UP = "follow_up"  # no plan and no payment: we come back to find a solution
    PAYMENT_THANKS = "payment_thanks"  # a payment arrived: thanks and what remains
    CLAIM_CONFIRMED = "claim_confirmed"  # the payment the debtor told us about was found
    DISPUTE_ANSWER = "dispute_answer"  # the written answer to a dispute (message + PDF)


SERVICE_CONTACTS = frozenset({ContactKind.PAYMENT_THANKS, ContactKind.CLAIM_CONFIRMED, ContactKind.DISPUTE_ANSWER})


class ContactStatus(StrEnum):
    SCHEDULED = "scheduled"
    DEFERRED = "deferred"  # refused for a time reason: it leaves at the next allowed moment
    SENT = "sent"
    CANCELLED = "cancelled"  # refused for a status reason, recorded


OPEN_CONTACT_STATUSES = frozenset({ContactStatus.SCHEDULED, ContactStatus.DEFERRED})


class ExperimentKind(StrEnum):
    """What an A/B test varies (api/services/experiments.py, docs/experiments.md)."""

    RESPONSE = "response"  # the wording of one response of domain.yml
    CADENCE = "cadence"  # one follow-through setting (a reminder's lead time, the days between follow-ups)


class ExperimentStatus(StrEnum):
    DRAFT = "draft"  # defined, editable, assigns nobody
    RUNNING = "running"  # assigns accounts; no longer editable
    STOPPED = "stopped"  # assigns nobody more; its assignments are kept for the record


class ExperimentOutcome(StrEnum):
    """The primary outcome of an experiment, one yes/no per assigned account, counted from its assignment."""

    PROMISE_MADE = "promise_made"
    INSTALMENT_PAID_ON_TIME = "instalment_paid_on_time"
    PAYMENT_WITHIN_DAYS = "payment_within_days"


class CadenceSetting(StrEnum):
    """The follow-through settings (services/follow_through.py) a cadence experiment may vary, in days."""

    REMINDER_DAYS_BEFORE = "reminder_days_before"
    FOLLOW_UP_DAYS = "follow_up_days"
