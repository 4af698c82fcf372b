"""The agent console: its pages, its JSON API under /console/api, and its live-update WebSocket.

Everything but the sign-in page and the static assets needs a signed-in agent (session cookie, HttpOnly,
SameSite=Strict); every state-changing request also needs the session's CSRF token in X-CSRF-Token. A manager
(read-only) is sent to the dashboard (api/routes/dashboard.py): every route here but signing out refuses one.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, HTTPException, Request, Response, WebSocket, WebSocketDisconnect, status
from fastapi.responses import FileResponse, RedirectResponse

from api.core.config import Settings, get_settings
from api.core.limits import get_throttle
from api.core.logging import log
from api.db import session_scope
from api.deps import (
    SESSION_COOKIE,
    ConsoleUser,
    CurrentAgent,
    RouterDep,
    SessionDep,
    SessionReleasingRoute,
    SettingsDep,
    TransportsDep,
    get_agent_session,
)
from api.models import Agent
from api.routes.documents import pdf_response
from api.schemas.common import Channel, ConversationState, HandoffStatus, MessageStatus, Recorded
from api.schemas.console import (
    AgentBrief,
    AgentDisputeIn,
    AgentOut,
    AgentVerifyIn,
    AgentVerifyOut,
    ClaimOut,
    CommitmentIn,
    CommitmentRecordedOut,
    ConfirmationSentOut,
    ConversationDetailOut,
    FinishedOut,
    FinishIn,
    FlaggedOut,
    MessageSentOut,
    QueueOut,
    ReleaseOut,
    ReviewedOut,
    SessionOut,
    SignIn,
    TextIn,
    UnlockIn,
    UnlockOut,
    VulnerabilityReviewIn,
)
from api.schemas.creditor import DataRequestIn, DisputeResolutionIn
from api.services import account_view, agent_desk, agents, handoffs, money, offers
from api.services.bot_context import conversation_context, handback_events
from api.services.console_hub import hub
from api.services.errors import InvalidCredentials, NotFound
from api.services.rasa import append_tracker_events, clear_trackers_now
from api.services.transport import Transports

STATIC = Path(__file__).resolve().parents[1] / "console"
router = APIRouter(route_class=SessionReleasingRoute, prefix="/console", tags=["agent console"], include_in_schema=False)
api = APIRouter(route_class=SessionReleasingRoute, prefix="/console/api", tags=["agent console"])


# -------------------------------------------------------------------------------------------------------
# Pages
# -------------------------------------------------------------------------------------------------------


@router.get("", response_model=None)
def console_page(session: SessionDep, request: Request) -> Response:
    row = agents.session_of_token(session, request.cookies.get(SESSION_COOKIE))
    if row is None:
        return RedirectResponse("/console/login", status_code=status.HTTP_303_SEE_OTHER)
    if agents.is_manager(row.agent):  # the queue is an agent's: a manager's console is the dashboard
        return RedirectResponse("/console/dashboard", status_code=status.HTTP_303_SEE_OTHER)
    return FileResponse(STATIC / "index.html", headers=_page_headers())


@router.get("/dashboard", response_model=None)
def dashboard_page(session: SessionDep, request: Request) -> Response:
    """The KPIs and A/B tests of the creditors the person sees (agents and managers alike)."""
    if agents.session_of_token(session, request.cookies.get(SESSION_COOKIE)) is None:
        return RedirectResponse("/console/login", status_code=status.HTTP_303_SEE_OTHER)
    return FileResponse(STATIC / "dashboard.html", headers=_page_headers())


@router.get("/login")
def login_page() -> FileResponse:
    return FileResponse(STATIC / "login.html", headers=_page_headers())


@router.get("/static/{name}")
def static_file(name: str) -> FileResponse:
    path = (STATIC / name).resolve()
    if path.parent != STATIC.resolve() or not path.is_file() or path.suffix not in {".js", ".css", ".json", ".svg", ".png"}:
        raise HTTPException(status.HTTP_404_NOT_FOUND)
    return FileResponse(path, headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


@router.get("/vendor/chart.umd.min.js")
def chart_library(settings: SettingsDep) -> FileResponse:
    """Chart.js (npm registry, web/package.json) for the dashboard: its one UMD file, from our own origin."""
    if not settings.chartjs_file.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Chart.js is not installed: run `make setup` (npm ci in web/).")
    return FileResponse(
        settings.chartjs_file,
        media_type="application/javascript",
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


def _page_headers() -> dict[str, str]:
    # Our own origin only: no CDN, no inline script, no framing of the console by another site.
    return {
        "Content-Security-Policy": (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
        ),
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


# -------------------------------------------------------------------------------------------------------
# Signing in and out
# -------------------------------------------------------------------------------------------------------


def _session_view(agent: Agent, csrf_token: str) -> SessionOut:
    return SessionOut(agent=AgentOut.model_validate(agent, from_attributes=True), csrf_token=csrf_token)


@api.post("/session")
def sign_in(body: SignIn, request: Request, response: Response, session: SessionDep, settings: SettingsDep) -> SessionOut:
    # JSON only: a form on another site cannot post JSON without a CORS preflight we never grant.
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, detail="Send the credentials as JSON.")
    # Per client as well as per agent: unknown e-mails cost a password hash each too.
    get_throttle().check("console_sign_in", request.client.host if request.client else "unknown")
    if agents.too_many_failures(session, body.email, settings.console_max_failed_sign_ins):
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, detail="Too many failed sign-ins: try again in 15 minutes.")
    try:
        agent = agents.authenticate(session, body.email, body.password)
    except InvalidCredentials:
        session.commit()  # the refusal is recorded (it counts towards the limit) before the error answer
        raise
    token, row = agents.open_session(session, agent, dt.timedelta(hours=settings.console_session_hours))
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.console_session_hours * 3600,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        path="/console",
    )
    log.info("agent_signed_in", agent_id=agent.id)
    return _session_view(agent, row.csrf_token)


@api.delete(
    "/session",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={204: {"description": "Signed out: the session is closed and its cookie cleared (no content)."}},
)
def sign_out(agent: ConsoleUser, request: Request, session: SessionDep) -> Response:
    row = get_agent_session(session, request.cookies.get(SESSION_COOKIE))
    agents.close_session(session, row)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response


@api.get("/me")
def me(request: Request, session: SessionDep, agent: ConsoleUser) -> SessionOut:
    row = get_agent_session(session, request.cookies.get(SESSION_COOKIE))
    return _session_view(agent, row.csrf_token)


# -------------------------------------------------------------------------------------------------------
# The queue and one conversation
# -------------------------------------------------------------------------------------------------------


# Stored handoff summaries carry some keys only sometimes (`also`): they are shown as stored.
@api.get("/queue", response_model_exclude_unset=True)
def read_queue(agent: CurrentAgent, session: SessionDep) -> QueueOut:
    return QueueOut.model_validate({"handoffs": agent_desk.queue_view(session, agent)})


@api.get("/conversations/{conversation_id}", response_model_exclude_unset=True)
def read_conversation(
    conversation_id: str, agent: CurrentAgent, session: SessionDep, settings: SettingsDep
) -> ConversationDetailOut:
    return ConversationDetailOut.model_validate(agent_desk.conversation_view(session, settings, conversation_id, agent))


@api.get("/confirmations/{number}.pdf", response_class=Response, responses={200: {"content": {"application/pdf": {}}}})
def read_confirmation_pdf(number: str, agent: CurrentAgent, session: SessionDep) -> Response:
    """A written confirmation, for the agent (the debtor's link asks for the date of birth instead)."""
    confirmation = account_view.find_confirmation(session, number)
    if confirmation is None or not agent_desk.serves_account(session, agent, confirmation.account_id):
        raise NotFound()
    return pdf_response(confirmation)


@api.post("/conversations/{conversation_id}/claim")
def claim(conversation_id: str, agent: CurrentAgent, session: SessionDep) -> ClaimOut:
    handoff = handoffs.claim(session, conversation_id, agent)
    return ClaimOut(
        handoff_id=handoff.id, status=HandoffStatus(handoff.status), claimed_by=AgentBrief(id=agent.id, name=agent.name)
    )


@api.post("/conversations/{conversation_id}/release")
def release(conversation_id: str, agent: CurrentAgent, session: SessionDep) -> ReleaseOut:
    handoff = handoffs.release(session, conversation_id, agent)
    return ReleaseOut(handoff_id=handoff.id, status=HandoffStatus(handoff.status))


@api.post("/conversations/{conversation_id}/messages", status_code=status.HTTP_201_CREATED)
def send_message(
    conversation_id: str, body: TextIn, agent: CurrentAgent, session: SessionDep, settings: SettingsDep, transports: TransportsDep
) -> MessageSentOut:
    message = agent_desk.reply(session, settings, conversation_id, agent, body.text, transports)
    return MessageSentOut(id=message.id, status=MessageStatus(message.status), channel=Channel(message.channel))


@api.post("/conversations/{conversation_id}/notes", status_code=status.HTTP_201_CREATED)
def add_note(conversation_id: str, body: TextIn, agent: CurrentAgent, session: SessionDep) -> Recorded:
    note = agent_desk.add_note(session, conversation_id, agent, body.text)
    return Recorded(id=note.id)


@api.post("/conversations/{conversation_id}/verify")
def verify(
    conversation_id: str, body: AgentVerifyIn, agent: CurrentAgent, session: SessionDep, settings: SettingsDep
) -> AgentVerifyOut:
    result = agent_desk.verify(
        session, settings, conversation_id, agent, reference=body.reference, date_of_birth=body.date_of_birth
    )
    return AgentVerifyOut(verified=result.verified, reference_locked=result.reference_locked)


@api.post("/conversations/{conversation_id}/unlock-verification")
def unlock_verification(
    conversation_id: str, body: UnlockIn, agent: CurrentAgent, session: SessionDep, settings: SettingsDep
) -> UnlockOut:
    return UnlockOut(unlocked=agent_desk.unlock_verification(session, settings, conversation_id, agent, reference=body.reference))


@api.post("/conversations/{conversation_id}/commitments", status_code=status.HTTP_201_CREATED)
def record_commitment(
    conversation_id: str, body: CommitmentIn, agent: CurrentAgent, session: SessionDep, settings: SettingsDep
) -> CommitmentRecordedOut:
    proposal = offers.Proposal(
        kind=body.kind,
        instalment_amount_minor=money.typed_amount(session, conversation_id, body.instalment_amount),
        instalment_count=body.instalment_count,
        first_due_date=body.first_due_date,
        frequency=body.frequency,
    )
    commitment, confirmation = agent_desk.record_commitment(
        session, settings, conversation_id, agent, proposal, body.outside_policy_reason
    )
    return CommitmentRecordedOut(
        commitment_reference=commitment.reference,
        confirmation_number=confirmation.number,
        total_minor=commitment.total_minor,
        instalments=len(commitment.instalments),
        outside_policy=commitment.outside_policy_reason is not None,
    )


@api.post("/conversations/{conversation_id}/confirmations/{number}/send", status_code=status.HTTP_201_CREATED)
def send_confirmation(
    conversation_id: str, number: str, agent: CurrentAgent, session: SessionDep, settings: SettingsDep, transports: TransportsDep
) -> ConfirmationSentOut:
    message = agent_desk.send_confirmation(session, settings, conversation_id, agent, number, transports)
    return ConfirmationSentOut(id=message.id, status=MessageStatus(message.status))


@api.post("/conversations/{conversation_id}/disputes", status_code=status.HTTP_201_CREATED)
def record_dispute(conversation_id: str, body: AgentDisputeIn, agent: CurrentAgent, session: SessionDep) -> Recorded:
    dispute = agent_desk.record_dispute(session, conversation_id, agent, body.reason)
    return Recorded(id=dispute.id)


@api.post("/conversations/{conversation_id}/disputes/{dispute_id}/resolution")
def resolve_dispute(
    conversation_id: str,
    dispute_id: int,
    body: DisputeResolutionIn,
    agent: CurrentAgent,
    session: SessionDep,
    settings: SettingsDep,
) -> ReviewedOut:
    """Upheld or rejected, with the explanation the debtor receives in writing (message + PDF); collection
    resumes once that answer has left."""
    dispute = agent_desk.resolve_dispute(
        session,
        settings,
        conversation_id,
        agent,
        dispute_id,
        outcome=body.outcome,
        explanation=body.explanation,
        corrected_balance_minor=body.corrected_balance_minor,
        close_account=body.close_account,
    )
    return ReviewedOut(status=dispute.status)


@api.post("/conversations/{conversation_id}/data-requests", status_code=status.HTTP_201_CREATED)
def open_data_request(
    conversation_id: str, body: DataRequestIn, agent: CurrentAgent, session: SessionDep, settings: SettingsDep
) -> Recorded:
    """The debtor's request about their data, recorded by the agent (carried out at once as through the
    creditor's API; the export is the creditor's to hand over)."""
    request, conversations = agent_desk.open_data_request(session, settings, conversation_id, agent, body.kind, body.note)
    if conversations:
        clear_trackers_now(settings, conversations)
    return Recorded(id=request.id)


@api.post("/conversations/{conversation_id}/vulnerability-review")
def review_vulnerability(
    conversation_id: str, body: VulnerabilityReviewIn, agent: CurrentAgent, session: SessionDep
) -> ReviewedOut:
    account = agent_desk.review_vulnerability(session, conversation_id, agent, body.decision, body.note)
    return ReviewedOut(status="kept" if account.vulnerable else "cleared")


@api.post("/conversations/{conversation_id}/vulnerability", status_code=status.HTTP_201_CREATED)
def flag_vulnerability(conversation_id: str, agent: CurrentAgent, session: SessionDep) -> FlaggedOut:
    agent_desk.flag_vulnerability(session, conversation_id, agent)
    return FlaggedOut(status="flagged")


@api.post("/conversations/{conversation_id}/hand-back")
async def hand_back(
    conversation_id: str,
    body: FinishIn,
    agent: CurrentAgent,
    settings: SettingsDep,
    conversation_router: RouterDep,
    transports: TransportsDep,
) -> FinishedOut:
    """Back to the bot: Rasa's tracker is brought up to date first, so the bot knows what was agreed."""

    def context() -> dict[str, Any]:
        with session_scope() as session:
            conversation, _ = handoffs.claimed_conversation(session, conversation_id, session.get_one(Agent, agent.id))
            return conversation_context(session, conversation, settings)

    events = handback_events(await to_thread.run_sync(context))
    await append_tracker_events(conversation_router.http, settings, conversation_id, events)
    return await to_thread.run_sync(_finish, settings, conversation_id, agent, "handed_back", body.note, transports)


@api.post("/conversations/{conversation_id}/close")
async def close(
    conversation_id: str, body: FinishIn, agent: CurrentAgent, settings: SettingsDep, transports: TransportsDep
) -> FinishedOut:
    return await to_thread.run_sync(_finish, settings, conversation_id, agent, "closed", body.note, transports)


def _finish(
    settings: Settings, conversation_id: str, agent: Agent, outcome: str, note: str | None, transports: Transports
) -> FinishedOut:
    with session_scope() as session:
        conversation = agent_desk.finish(
            session, settings, conversation_id, session.get_one(Agent, agent.id), outcome, note, transports
        )
        return FinishedOut(conversation_id=conversation.id, state=ConversationState(conversation.state))


# -------------------------------------------------------------------------------------------------------
# Live updates
# -------------------------------------------------------------------------------------------------------


@router.websocket("/ws")
async def live_updates(websocket: WebSocket) -> None:
    settings = get_settings()
    origin = websocket.headers.get("origin")
    # Cookies go with a WebSocket from any site: only our own pages may open one.
    allowed_origins = {settings.base_url, f"http://127.0.0.1:{settings.api_port}", f"http://localhost:{settings.api_port}"}
    if origin not in allowed_origins:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
        return

    def agent_and_creditors() -> tuple[int, frozenset[int]] | None:
        with session_scope() as session:
            row = agents.session_of_token(session, websocket.cookies.get(SESSION_COOKIE))
            # The events are about conversations: an agent's business, not a manager's.
            if row is None or agents.is_manager(row.agent):
                return None
            return row.agent_id, frozenset(agents.creditor_ids_of(session, row.agent))

    signed_in = await to_thread.run_sync(agent_and_creditors)
    if signed_in is None:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
        return
    await websocket.accept()
    await hub.attach(websocket, *signed_in)
    try:
        await websocket.send_json({"type": "hello"})
        while True:
            await websocket.receive_text()  # the console only listens; anything it sends is ignored
    except WebSocketDisconnect:
        pass
    finally:
        hub.detach(websocket)
