"""The action server's door into the api: everything the bot reads or records goes through here.

Authenticated with the shared X-Actions-Token; the conversation id is Rasa's sender id. Each route parses
the request and calls one function of `services/bot_api.py`.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from api.deps import SessionDep, SessionReleasingRoute, SettingsDep, require_action_server
from api.schemas.common import Recorded
from api.schemas.internal import (
    AcceptedOut,
    AcceptIn,
    CareIn,
    ComplaintOut,
    ConversationContext,
    DebtorDataRequestIn,
    DebtorDataRequestOut,
    DeclinedOut,
    DisputeIn,
    DisputeRecordedOut,
    HandoffIn,
    HandoffQueuedOut,
    LanguageIn,
    LanguageOut,
    OptedOutOut,
    OptionsOut,
    OtherChannelsOptedOutOut,
    OtherChannelsOptOutIn,
    PaymentClaimIn,
    PreferenceIn,
    ProposalIn,
    ProposalOut,
    SignalIn,
    SummaryOut,
    VerifyIn,
    VerifyOut,
    VulnerabilityIn,
    VulnerabilityOut,
)
from api.services import bot_api, offers

router = APIRouter(
    route_class=SessionReleasingRoute,
    prefix="/internal/v1/conversations/{conversation_id}",
    tags=["action server"],
    dependencies=[Depends(require_action_server)],
)
CREATED = status.HTTP_201_CREATED


@router.get("/context")
def read_context(conversation_id: str, session: SessionDep, settings: SettingsDep) -> ConversationContext:
    return bot_api.context(session, settings, conversation_id)


# `handoff` is left out of the answer unless the conversation was handed over.
@router.post("/verify", response_model_exclude_unset=True)
def verify(conversation_id: str, body: VerifyIn, session: SessionDep, settings: SettingsDep) -> VerifyOut:
    return bot_api.verify(session, settings, conversation_id, reference=body.reference, date_of_birth=body.date_of_birth)


@router.post("/language")
def set_language(conversation_id: str, body: LanguageIn, session: SessionDep) -> LanguageOut:
    return bot_api.set_language(session, conversation_id, body.language)


@router.post("/signals", status_code=CREATED)
def add_signal(conversation_id: str, body: SignalIn, session: SessionDep) -> Recorded:
    return bot_api.add_signal(session, conversation_id, kind=body.kind, detail=body.detail, confidence=body.confidence)


@router.post("/disputes", status_code=CREATED)
def add_dispute(conversation_id: str, body: DisputeIn, session: SessionDep) -> DisputeRecordedOut:
    return bot_api.add_dispute(session, conversation_id, body.reason)


@router.post("/opt-out", status_code=CREATED)
def opt_out(conversation_id: str, session: SessionDep) -> OptedOutOut:
    return bot_api.opt_out(session, conversation_id)


@router.post("/opt-out/other-channels", status_code=CREATED)
def opt_out_other_channels(conversation_id: str, body: OtherChannelsOptOutIn, session: SessionDep) -> OtherChannelsOptedOutOut:
    """Asked in the web chat: SMS and WhatsApp stop too, on the verified account's number."""
    return bot_api.opt_out_other_channels(session, conversation_id, list(body.channels))


@router.post("/data-requests", status_code=CREATED)
def open_data_request(
    conversation_id: str, body: DebtorDataRequestIn, session: SessionDep, settings: SettingsDep
) -> DebtorDataRequestOut:
    """The verified debtor asks for a copy of their data, or for its erasure (409 once erased)."""
    return bot_api.open_data_request(session, settings, conversation_id, body.kind)


@router.post("/handoffs", status_code=CREATED)
def add_handoff(conversation_id: str, body: HandoffIn, session: SessionDep) -> HandoffQueuedOut:
    """Queues the conversation for a person; says when one will answer (the creditor's team hours)."""
    return bot_api.add_handoff(session, conversation_id, reason=body.reason, note=body.note)


@router.get("/options")
def list_options(conversation_id: str, session: SessionDep, settings: SettingsDep) -> OptionsOut:
    return bot_api.options(session, settings, conversation_id)


# `handoff` is left out of the answer unless the debtor was handed over.
@router.post("/offers", status_code=CREATED, response_model_exclude_unset=True)
def propose(conversation_id: str, body: ProposalIn, session: SessionDep, settings: SettingsDep) -> ProposalOut:
    return bot_api.propose(session, settings, conversation_id, offers.Proposal(**body.model_dump()))


@router.post("/offers/{offer_id}/summary")
def summarise(conversation_id: str, offer_id: str, session: SessionDep, settings: SettingsDep) -> SummaryOut:
    return bot_api.summarise(session, settings, conversation_id, offer_id)


@router.post("/offers/{offer_id}/accept", status_code=CREATED)
def accept(conversation_id: str, offer_id: str, body: AcceptIn, session: SessionDep, settings: SettingsDep) -> AcceptedOut:
    return bot_api.accept(session, settings, conversation_id, offer_id, body.agreed_summary)


@router.post("/offers/{offer_id}/decline")
def decline(conversation_id: str, offer_id: str, session: SessionDep) -> DeclinedOut:
    return bot_api.decline(session, conversation_id, offer_id)


@router.post("/vulnerability", status_code=CREATED)
def vulnerability(conversation_id: str, body: VulnerabilityIn, session: SessionDep) -> VulnerabilityOut:
    return bot_api.flag_vulnerability(
        session, conversation_id, confidence=body.confidence, claimed_reference=body.claimed_reference
    )


@router.post("/complaints", status_code=CREATED)
def complaint(conversation_id: str, body: CareIn, session: SessionDep) -> ComplaintOut:
    return bot_api.complain(session, conversation_id, body.confidence)


@router.post("/payment-claims", status_code=CREATED)
def payment_claim(conversation_id: str, body: PaymentClaimIn, session: SessionDep) -> Recorded:
    return bot_api.claim_payment(session, conversation_id, paid_on=body.paid_on, means=body.means)


@router.post("/preferences", status_code=CREATED)
def preference(conversation_id: str, body: PreferenceIn, session: SessionDep) -> Recorded:
    return bot_api.set_preference(session, conversation_id, channel=body.channel, time_window=body.time_window)
