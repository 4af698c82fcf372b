"""The domain's exception hierarchy: raised by services, mapped once to HTTP problems (by `status`) and once
to bot messages (by `code`, which the action server reads from the problem's type).

    DomainError
    ├── NotFound (404)
    │   ├── UnknownAccount
    │   ├── UnknownCreditor
    │   ├── PaymentWebhookOff
    │   └── UnknownExperiment
    ├── Conflict (409)
    │   ├── AgreementRequired
    │   ├── CollectionPaused
    │   ├── UnderCare
    │   ├── ClaimedByAnother
    │   ├── NotYourConversation
    │   ├── ConversationClosed
    │   ├── OptedOut
    │   ├── OutsideWhatsAppWindow
    │   ├── AgentExists
    │   ├── PaymentConflict
    │   ├── ExperimentNotDraft
    │   ├── ExperimentNotRunning
    │   ├── ResponseExperimentNotShown
    │   └── ExperimentTargetBusy
    ├── NotVerified (403)
    ├── VerificationLocked (423)
    ├── InvalidLink (403)
    ├── ExpiredLink (410)
    ├── UnknownTemplate (404)
    ├── InvalidCredentials (401)
    ├── InvalidSignature (401)
    │   └── StaleSignature
    ├── Unprocessable (422)
    │   ├── InvalidDate
    │   ├── InvalidAmount
    │   ├── InvalidArrangement
    │   ├── OutsidePolicy
    │   ├── WeakPassword
    │   ├── NoCreditor
    │   ├── InvalidPayment
    │   ├── CurrencyMismatch
    │   ├── NothingToReverse
    │   ├── InvalidPeriod
    │   ├── UnknownGrouping
    │   ├── UnknownResponse
    │   └── UnknownPlaceholder
    ├── TooManyRequests (429)
    └── RasaUnavailable (503)
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a domain rule raises; `code` is the stable machine name used by both mappings."""

    code = "domain_error"
    status = 400

    def problem_extra(self) -> dict[str, Any]:
        """Fields added to the HTTP problem body (e.g. the counter-offer of a refused arrangement)."""
        return {}


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to the caller)."""

    code = "not_found"
    status = 404


class Conflict(DomainError):
    """The request clashes with what is already recorded (a duplicate reference, an offer already used)."""

    code = "conflict"
    status = 409


class Unprocessable(DomainError):
    """The request is well formed but its content cannot be right."""

    code = "unprocessable"
    status = 422


# --- links ---------------------------------------------------------------------------------------------


class InvalidLink(DomainError):
    """A signed link was altered, forged, or made for another purpose: the holder should ask for a new one."""

    code = "invalid_link"
    status = 403


class ExpiredLink(DomainError):
    """A signed link was genuine but is too old: the holder should ask for a new one."""

    code = "expired_link"
    status = 410


# --- right party -----------------------------------------------------------------------------------------


class NotVerified(DomainError):
    """Nothing about a debt is disclosed or changed before the debtor's identity is verified."""

    code = "not_verified"
    status = 403


class VerificationLocked(DomainError):
    """Too many failed verification attempts in this conversation: only a human can help now."""

    code = "verification_locked"
    status = 423


# --- arrangements ------------------------------------------------------------------------------------------


class AgreementRequired(Conflict):
    """A commitment needs the debtor's explicit agreement to a summary that was shown first."""

    code = "agreement_required"


class CollectionPaused(Conflict):
    """Collection is paused on this account (open dispute): no payment may be asked for or arranged."""

    code = "collection_paused"


class UnderCare(Conflict):
    """The debtor expressed distress: collection waits until a person has reviewed the account."""

    code = "under_care"


class InvalidDate(Unprocessable):
    """The date cannot be right (for example a payment said to be made in the future)."""

    code = "invalid_date"


class InvalidAmount(Unprocessable):
    """The amount is not a positive amount of the account's currency (e.g. 50, 50.00 or 50,00)."""

    code = "invalid_amount"


class InvalidArrangement(Unprocessable):
    """These terms cannot make a payment plan (a date in the past, no amount or count, more than is due)."""

    code = "invalid_arrangement"


class OutsidePolicy(Unprocessable):
    """The arrangement is outside the creditor's policy: record it only with a reason (agents only)."""

    code = "outside_policy"

    def __init__(self, counter_offer: dict[str, Any]) -> None:
        super().__init__(self.__doc__)
        self.counter_offer = counter_offer

    def problem_extra(self) -> dict[str, Any]:
        return {"reasons": self.counter_offer["reasons"], "counter_offer": self.counter_offer}


# --- agents and handoffs -----------------------------------------------------------------------------------


class ClaimedByAnother(Conflict):
    """Another agent has already claimed this conversation."""

    code = "claimed_by_another"


class ConversationClosed(Conflict):
    """This conversation is closed: the debtor's next message opens a new one."""

    code = "conversation_closed"


class NotYourConversation(Conflict):
    """Claim the conversation first: only the agent who claimed it can act on it."""

    code = "not_your_conversation"


class InvalidCredentials(DomainError):
    """The e-mail or the password is wrong (which one is not said)."""

    code = "invalid_credentials"
    status = 401


class WeakPassword(Unprocessable):
    """Agent passwords have at least 12 characters."""

    code = "weak_password"


class AgentExists(Conflict):
    """An agent with this e-mail exists already."""

    code = "agent_exists"


class TooManyRequests(DomainError):
    """Too many requests from this client in a short time: wait a little and try again."""

    code = "too_many_requests"
    status = 429


class NoCreditor(Unprocessable):
    """An agent serves at least one creditor: name the creditor(s) whose debtors they handle."""

    code = "no_creditor"


class UnknownCreditor(NotFound):
    """No creditor has this id."""

    code = "unknown_creditor"


# --- outbound messages -------------------------------------------------------------------------------------


class OptedOut(Conflict):
    """This number asked not to be contacted on this channel: nothing is sent to it."""

    code = "opted_out"


class OutsideWhatsAppWindow(Conflict):
    """WhatsApp allows free text only within 24 hours of the debtor's last message; use a template."""

    code = "outside_whatsapp_window"


class UnknownTemplate(DomainError):
    """No approved WhatsApp template has this name (WHATSAPP_TEMPLATES)."""

    code = "unknown_template"
    status = 404


# --- payments ------------------------------------------------------------------------------------------------


class UnknownAccount(NotFound):
    """None of your accounts has this reference: check it, or load the account first (POST /api/v1/accounts)."""

    code = "unknown_account"


class ReferenceFormatMismatch(Unprocessable):
    """The reference does not match your reference format (GET /api/v1/reference-format): check it, or change the format."""

    code = "reference_format_mismatch"


class PaymentConflict(Conflict):
    """Another payment was recorded under this external_id (it is kept as it was): give each payment its own id."""

    code = "payment_conflict"


class InvalidPayment(Unprocessable):
    """A payment is not zero (a refund is negative), uses a listed method, is not dated in the future, and only a refund names what it reverses."""

    code = "invalid_payment"


class CurrencyMismatch(Unprocessable):
    """A payment is recorded in its account's currency: check the reference, or convert the amount first."""

    code = "currency_mismatch"


class NothingToReverse(Unprocessable):
    """A refund or reversal gives back at most what was paid on the account, or on the payment of this account it names."""

    code = "nothing_to_reverse"


# --- the bot -------------------------------------------------------------------------------------------------


class RasaUnavailable(DomainError):
    """The Rasa server did not answer; the message is kept and answered once it is back."""

    code = "rasa_unavailable"
    status = 503


# --- payments from a payment provider (webhook) --------------------------------------------------------------


class PaymentWebhookOff(NotFound):
    """No payment webhook is set up for this creditor: create its secret first (POST /api/v1/payments/webhook-secret)."""

    code = "payment_webhook_off"


class InvalidSignature(DomainError):
    """The X-Payment-Signature header is missing, malformed or wrong: send t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>"> made with the creditor's current webhook secret."""

    code = "invalid_signature"
    status = 401


class StaleSignature(InvalidSignature):
    """The signature's timestamp is more than 5 minutes away from now: sign each delivery as it is sent, and check the sender's clock."""

    code = "stale_signature"


# --- reports ---------------------------------------------------------------------------------------------------


class InvalidPeriod(Unprocessable):
    """A report covers `from` (included) to a later `to` (excluded), both ISO 8601 instants with their offset (2026-03-01T00:00:00+01:00 or 2026-03-01T00:00:00Z), at most 732 days apart."""

    code = "invalid_period"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def problem_extra(self) -> dict[str, Any]:
        return {"reason": self.reason}


class UnknownGrouping(Unprocessable):
    """group_by takes channel, language, hardship_reason and at most one of day, week, month (comma-separated or repeated); strategy variants are not a grouping yet (docs/kpis.md)."""

    code = "unknown_grouping"

    def __init__(self, unknown: list[str], allowed: list[str]) -> None:
        super().__init__(", ".join(unknown))
        self.unknown, self.allowed = unknown, allowed

    def problem_extra(self) -> dict[str, Any]:
        return {"unknown": self.unknown, "allowed": self.allowed}


# --- experiments (A/B tests) -----------------------------------------------------------------------------------


class UnknownExperiment(NotFound):
    """None of your experiments has this id."""

    code = "unknown_experiment"


class ExperimentNotDraft(Conflict):
    """Only a draft experiment can be changed or started: a running or stopped one keeps the definition its assignments were made under (create a new experiment instead)."""

    code = "experiment_not_draft"


class ResponseExperimentNotShown(Conflict):
    """The assistant does not show a response's A/B wordings yet: a response experiment can be defined and kept as a draft, not started (docs/experiments.md). Cadence experiments start."""

    code = "response_experiment_not_shown"


class ExperimentNotRunning(Conflict):
    """Only a running experiment can be stopped."""

    code = "experiment_not_running"


class ExperimentTargetBusy(Conflict):
    """Another of your experiments is running on this response or setting (an account sees one variation of it at a time): stop that one first."""

    code = "experiment_target_busy"

    def __init__(self, running_id: int) -> None:
        super().__init__(str(running_id))
        self.running_id = running_id

    def problem_extra(self) -> dict[str, Any]:
        return {"running_experiment_id": self.running_id}


class UnknownResponse(Unprocessable):
    """A response experiment varies one of the bot's responses: name one that domain.yml defines (utter_...)."""

    code = "unknown_response"

    def __init__(self, response: str) -> None:
        super().__init__(response)
        self.response = response

    def problem_extra(self) -> dict[str, Any]:
        return {"response": self.response}


class UnknownPlaceholder(Unprocessable):
    """An arm's wording uses a {placeholder} that the response it replaces never uses, so the bot may not know its value at that point: use only the placeholders listed in `allowed`."""

    code = "unknown_placeholder"

    def __init__(self, arm: str, unknown: list[str], allowed: list[str]) -> None:
        super().__init__(f"{arm}: {', '.join(unknown)}")
        self.arm, self.unknown, self.allowed = arm, unknown, allowed

    def problem_extra(self) -> dict[str, Any]:
        return {"arm": self.arm, "unknown": self.unknown, "allowed": self.allowed}
