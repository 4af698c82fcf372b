"""The action server's door into the api: everything the bot reads or records goes through here.

Authenticated with the shared X-Actions-Token; the conversation id is Rasa's sender id.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.deps import SessionDep, SettingsDep, require_action_server
from api.models import Conversation, Creditor
from api.services import arrangements, handoffs, offers, records
from api.services.bot_context import commitment_view, conversation_context
from api.services.errors import InvalidDate, NotFound
from api.services.presentation import limits_view, offer_view
from api.services.verification import verify_identity

router = APIRouter(
    prefix="/internal/v1/conversations/{conversation_id}",
    tags=["action server"],
    dependencies=[Depends(require_action_server)],
    include_in_schema=False,
)


def _conversation(session: SessionDep, conversation_id: str) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound()
    return conversation


@router.get("/context")
def read_context(conversation_id: str, session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    return conversation_context(session, _conversation(session, conversation_id), settings)


class VerifyIn(BaseModel):
    reference: str = Field(max_length=64)
    date_of_birth: dt.date | None = None


@router.post("/verify")
def verify(conversation_id: str, body: VerifyIn, session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    conversation = _conversation(session, conversation_id)
    result = verify_identity(
        session, conversation, settings, reference=body.reference, date_of_birth=body.date_of_birth
    )
    records.audit(session, "bot", "verification_attempt", "conversation", conversation.id, succeeded=result.verified)
    # No count of the tries left: it would help a guesser more than a debtor.
    answer: dict[str, Any] = {"status": "verified" if result.verified else ("locked" if result.locked else "failed")}
    if result.locked:
        _, team = handoffs.request_handoff(session, conversation, "verification_locked")
        answer["handoff"] = handoffs.debtor_view(team, conversation)
    return {**answer, "context": conversation_context(session, conversation, settings)}


class LanguageIn(BaseModel):
    language: Literal["fr", "en"]


@router.post("/language")
def set_language(conversation_id: str, body: LanguageIn, session: SessionDep) -> dict[str, str]:
    conversation = _conversation(session, conversation_id)
    conversation.language = body.language
    return {"language": body.language}


class SignalIn(BaseModel):
    kind: str = Field(max_length=32)
    detail: str | None = Field(default=None, max_length=64)
    confidence: float | None = Field(default=None, ge=0, le=1)


@router.post("/signals", status_code=201)
def add_signal(conversation_id: str, body: SignalIn, session: SessionDep) -> dict[str, int]:
    signal = records.record_signal(
        session, _conversation(session, conversation_id), kind=body.kind, detail=body.detail, confidence=body.confidence
    )
    return {"id": signal.id}


class DisputeIn(BaseModel):
    reason: str | None = Field(default=None, max_length=32)


@router.post("/disputes", status_code=201)
def add_dispute(conversation_id: str, body: DisputeIn, session: SessionDep) -> dict[str, Any]:
    conversation = _conversation(session, conversation_id)
    dispute = records.record_dispute(session, conversation, body.reason)
    handoff = handoffs.active_handoff(session, conversation.id)
    # A creditor who reviews disputes: the debtor is told a person will look at it.
    review = handoff is not None and handoff.reason == "dispute"
    return {"id": dispute.id, "review": review}


@router.post("/opt-out", status_code=201)
def opt_out(conversation_id: str, session: SessionDep) -> dict[str, str]:
    records.record_opt_out(session, _conversation(session, conversation_id))
    return {"status": "opted_out"}


class HandoffIn(BaseModel):
    reason: Literal["request_human", "repeated_fallback", "outside_policy", "dispute", "complaint"] = "request_human"
    note: str | None = Field(default=None, max_length=500)


@router.post("/handoffs", status_code=201)
def add_handoff(conversation_id: str, body: HandoffIn, session: SessionDep) -> dict[str, Any]:
    """Queues the conversation for a person; says when one will answer (the creditor's team hours)."""
    conversation = _conversation(session, conversation_id)
    handoff, team = handoffs.request_handoff(session, conversation, body.reason, note=body.note)
    return {"id": handoff.id, "priority": handoff.priority, **handoffs.debtor_view(team, conversation)}


def _limits(session: SessionDep, conversation: Conversation) -> dict[str, Any]:
    account = conversation.account
    creditor = session.get(Creditor, account.creditor_id)
    policy = arrangements.policy_of(creditor.policy)
    return limits_view(policy, account, conversation.language or account.language, arrangements.debtor_today(account))


@router.get("/options")
def list_options(conversation_id: str, session: SessionDep) -> dict[str, Any]:
    conversation = _conversation(session, conversation_id)
    language = conversation.language or "fr"
    options = [offer_view(o, language) for o in arrangements.options_for(session, conversation)]
    return {"options": options, "limits": _limits(session, conversation)}


class ProposalIn(BaseModel):
    kind: Literal["instalments", "deferral", "full", "settlement"]
    instalment_amount_minor: int | None = Field(default=None, gt=0, le=10**11)
    instalment_count: int | None = Field(default=None, gt=0, le=1000)
    first_due_date: dt.date | None = None
    frequency: Literal["weekly", "biweekly", "monthly"] = "monthly"


@router.post("/offers", status_code=201)
def propose(conversation_id: str, body: ProposalIn, session: SessionDep) -> dict[str, Any]:
    conversation = _conversation(session, conversation_id)
    row, accepted = arrangements.evaluate_proposal(session, conversation, offers.Proposal(**body.model_dump()))
    answer = {"accepted": accepted, **offer_view(row, conversation.language or "fr"), "limits": _limits(session, conversation)}
    if not accepted and arrangements.insists_outside_policy(session, conversation):
        # The debtor keeps asking for what the policy forbids: a person may agree to it, the bot may not.
        _, team = handoffs.request_handoff(session, conversation, "outside_policy")
        answer["handoff"] = handoffs.debtor_view(team, conversation)
    return answer


@router.post("/offers/{offer_id}/summary")
def summarise(conversation_id: str, offer_id: str, session: SessionDep) -> dict[str, Any]:
    conversation = _conversation(session, conversation_id)
    row = arrangements.summarise_offer(session, conversation, offer_id)
    view = offer_view(row, conversation.language or "fr")
    view["account_reference"] = conversation.account.reference
    return view


class AcceptIn(BaseModel):
    agreed_summary: str = Field(default="", max_length=4000)


@router.post("/offers/{offer_id}/accept", status_code=201)
def accept(conversation_id: str, offer_id: str, body: AcceptIn, session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    conversation = _conversation(session, conversation_id)
    commitment, confirmation = arrangements.accept_offer(
        session, conversation, offer_id, agreed_summary=body.agreed_summary, settings=settings
    )
    return {
        "commitment_reference": commitment.reference,
        "confirmation_number": confirmation.number,
        "document_url": arrangements.document_url(confirmation, settings),
        "plan_text": commitment_view(commitment, conversation.language or "fr")["schedule_text"],
    }


@router.post("/offers/{offer_id}/decline")
def decline(conversation_id: str, offer_id: str, session: SessionDep) -> dict[str, str]:
    row = arrangements.decline_offer(session, _conversation(session, conversation_id), offer_id)
    return {"status": row.status}


class CareIn(BaseModel):
    confidence: float | None = Field(default=None, ge=0, le=1)


class VulnerabilityIn(CareIn):
    # The reference the person gave before verification was complete, if any (unverified).
    claimed_reference: str | None = Field(default=None, max_length=40)


@router.post("/vulnerability", status_code=201)
def vulnerability(conversation_id: str, body: VulnerabilityIn, session: SessionDep) -> dict[str, Any]:
    conversation = _conversation(session, conversation_id)
    resources, team = records.flag_vulnerability(session, conversation, body.confidence, body.claimed_reference)
    return {"support_resources": resources, "handoff": handoffs.debtor_view(team, conversation) if team else None}


@router.post("/complaints", status_code=201)
def complaint(conversation_id: str, body: CareIn, session: SessionDep) -> dict[str, Any]:
    conversation = _conversation(session, conversation_id)
    handoff, team = records.record_complaint(session, conversation, body.confidence)
    return {"handoff_id": handoff.id, "handoff": handoffs.debtor_view(team, conversation)}


class PaymentClaimIn(BaseModel):
    paid_on: dt.date | None = None
    means: Literal["transfer", "card", "cheque", "direct_debit", "cash", "other"] | None = None


@router.post("/payment-claims", status_code=201)
def payment_claim(conversation_id: str, body: PaymentClaimIn, session: SessionDep) -> dict[str, int]:
    if body.paid_on and body.paid_on > dt.date.today() + dt.timedelta(days=1):
        raise InvalidDate()
    claim = records.record_payment_claim(session, _conversation(session, conversation_id), body.paid_on, body.means)
    return {"id": claim.id}


class PreferenceIn(BaseModel):
    channel: Literal["email", "sms", "whatsapp", "phone", "post", "webchat"] | None = None
    time_window: Literal["morning", "daytime", "evening", "weekend"] | None = None


@router.post("/preferences", status_code=201)
def preference(conversation_id: str, body: PreferenceIn, session: SessionDep) -> dict[str, int]:
    row = records.record_contact_preference(session, _conversation(session, conversation_id), body.channel, body.time_window)
    return {"id": row.id}
