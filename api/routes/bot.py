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
    BudgetIn,
    BudgetLinkOut,
    BudgetOutcomeOut,
    CareIn,
    ComplaintEscalationOut,
    ComplaintOut,
    ConfirmationCopyOut,
    ContactDetailsOut,
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
    MissedPaymentOut,
    OptedOutOut,
    OptionsOut,
    OriginalDocumentOut,
    OtherChannelsOptedOutOut,
    OtherChannelsOptOutIn,
    PaymentClaimIn,
    PlanOut,
    PreferenceIn,
    ProposalIn,
    ProposalOut,
    SignalIn,
    StatementOut,
    SummaryOut,
    VerifyIn,
    VerifyOut,
    VulnerabilityIn,
    VulnerabilityOut,
)
from api.services import affordability, bot_api, debtor_questions, offers

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


# --- the debtor's questions: the file's (verified only), then ours -----------------------------------------


@router.get("/plan")
def read_plan(conversation_id: str, session: SessionDep, settings: SettingsDep) -> PlanOut:
    """The active plan as it stands (next instalment, what is left), or only what is owed without one."""
    return PlanOut.model_validate(debtor_questions.plan(session, settings, bot_api.conversation_of(session, conversation_id)))


@router.get("/statement")
def read_statement(conversation_id: str, session: SessionDep, settings: SettingsDep) -> StatementOut:
    """The payments received for the account, newest first, and what is still owed."""
    conversation = bot_api.conversation_of(session, conversation_id)
    return StatementOut.model_validate(debtor_questions.statement(session, settings, conversation))


@router.post("/confirmation-copy")
def confirmation_copy(conversation_id: str, session: SessionDep, settings: SettingsDep) -> ConfirmationCopyOut:
    """The latest written confirmation again, behind a fresh link (404 when there is none)."""
    conversation = bot_api.conversation_of(session, conversation_id)
    return ConfirmationCopyOut.model_validate(debtor_questions.confirmation_copy(session, settings, conversation))


@router.post("/original-document", status_code=CREATED)
def original_document(conversation_id: str, session: SessionDep, settings: SettingsDep) -> OriginalDocumentOut:
    """A copy of the document the debt is based on: queued for a person, who sends it."""
    conversation = bot_api.conversation_of(session, conversation_id)
    return OriginalDocumentOut.model_validate(debtor_questions.request_original_document(session, settings, conversation))


@router.get("/missed-payment-rules")
def missed_payment_rules(conversation_id: str, session: SessionDep, settings: SettingsDep) -> MissedPaymentOut:
    """What a missed instalment does under the creditor's follow-through settings."""
    conversation = bot_api.conversation_of(session, conversation_id)
    return MissedPaymentOut.model_validate(debtor_questions.missed_payment_rules(session, settings, conversation))


@router.get("/contact-details")
def contact_details(conversation_id: str, session: SessionDep, settings: SettingsDep) -> ContactDetailsOut:
    """The collector's name, address, phone, e-mail and hours, and the creditor's (no verification needed)."""
    conversation = bot_api.conversation_of(session, conversation_id)
    return ContactDetailsOut.model_validate(debtor_questions.contact_details(session, settings, conversation))


@router.get("/complaint-escalation")
def complaint_escalation(conversation_id: str, session: SessionDep, settings: SettingsDep) -> ComplaintEscalationOut:
    """Where to complain beyond us, as the creditor set it (no verification needed)."""
    conversation = bot_api.conversation_of(session, conversation_id)
    return ComplaintEscalationOut.model_validate(debtor_questions.complaint_escalation(session, settings, conversation))


# --- affordability: the debtor's budget and the plan it allows (services/affordability.py) -----------------


@router.post("/budget-link")
def budget_link(conversation_id: str, session: SessionDep, settings: SettingsDep) -> BudgetLinkOut:
    """The signed link to the page where the verified debtor may type the figures instead."""
    return BudgetLinkOut.model_validate(affordability.link(bot_api.conversation_of(session, conversation_id), settings))


@router.post("/budget", status_code=CREATED, response_model_exclude_unset=True)
def record_budget(conversation_id: str, body: BudgetIn, session: SessionDep) -> BudgetOutcomeOut:
    """The budget answered in the conversation: stored, then the plan it allows (or the deferral and a person)."""
    conversation = bot_api.conversation_of(session, conversation_id)
    amounts = {group: (getattr(body, group).amount_minor, getattr(body, group).period) for group in affordability.GROUPS}
    outcome = affordability.record_from_chat(session, conversation, amounts, body.adults, body.children)
    return BudgetOutcomeOut.model_validate(outcome)


@router.post("/budget/web", response_model_exclude_unset=True)
def budget_from_web_form(conversation_id: str, session: SessionDep) -> BudgetOutcomeOut:
    """The debtor is back from the web form: the budget typed there, acted on (404 when there is none yet)."""
    conversation = bot_api.conversation_of(session, conversation_id)
    return BudgetOutcomeOut.model_validate(affordability.act_on_web_form(session, conversation))
