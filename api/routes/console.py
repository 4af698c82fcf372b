"""The agent console: its pages, its JSON API under /console/api, and its live-update WebSocket.

Everything but the sign-in page and the static assets needs a signed-in agent (session cookie, HttpOnly,
SameSite=Strict); every state-changing request also needs the session's CSRF token in X-CSRF-Token.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from anyio import to_thread
from babel.numbers import get_currency_precision
from fastapi import APIRouter, HTTPException, Request, Response, WebSocket, WebSocketDisconnect, status
from fastapi.responses import FileResponse, RedirectResponse
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import func, select

from api.core.config import Settings, get_settings
from api.core.logging import log
from api.db import session_scope
from api.deps import SESSION_COOKIE, CurrentAgent, RouterDep, SessionDep, SettingsDep, TransportsDep, get_agent_session
from api.models import Agent, AuditEntry, Confirmation, Conversation, utcnow
from api.routes.documents import pdf_response
from api.services import agent_desk, agents, handoffs, offers
from api.services.bot_context import conversation_context, handback_events
from api.services.console_hub import hub
from api.services.errors import InvalidAmount, InvalidCredentials, NotFound
from api.services.rasa import append_tracker_events
from api.services.transport import Transports

STATIC = Path(__file__).resolve().parents[1] / "console"
router = APIRouter(prefix="/console", tags=["agent console"], include_in_schema=False)
api = APIRouter(prefix="/console/api", tags=["agent console"])
SIGN_IN_WINDOW = dt.timedelta(minutes=15)


# -------------------------------------------------------------------------------------------------------
# Pages
# -------------------------------------------------------------------------------------------------------

@router.get("", response_model=None)
def console_page(session: SessionDep, request: Request) -> Response:
    if agents.session_of_token(session, request.cookies.get(SESSION_COOKIE)) is None:
        return RedirectResponse("/console/login", status_code=status.HTTP_303_SEE_OTHER)
    return FileResponse(STATIC / "index.html", headers=_page_headers())


@router.get("/login")
def login_page() -> FileResponse:
    return FileResponse(STATIC / "login.html", headers=_page_headers())


@router.get("/static/{name}")
def static_file(name: str) -> FileResponse:
    path = (STATIC / name).resolve()
    if path.parent != STATIC.resolve() or not path.is_file() or path.suffix not in {".js", ".css", ".json", ".svg", ".png"}:
        raise HTTPException(status.HTTP_404_NOT_FOUND)
    return FileResponse(path, headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


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

class SignIn(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=256)


def _agent_view(agent: Agent) -> dict[str, Any]:
    return {"id": agent.id, "email": agent.email, "name": agent.name}


def _too_many_failures(session: SessionDep, email: str, settings: Settings) -> bool:
    agent_id = session.scalar(select(Agent.id).where(Agent.email == agents.normalise_email(email)))
    if agent_id is None:
        return False
    failures = session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "agent_sign_in_refused", AuditEntry.entity_id == str(agent_id))
        .where(AuditEntry.created_at >= utcnow() - SIGN_IN_WINDOW)
    )
    return (failures or 0) >= settings.console_max_failed_sign_ins


@api.post("/session")
def sign_in(body: SignIn, request: Request, response: Response, session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    # JSON only: a form on another site cannot post JSON without a CORS preflight we never grant.
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, detail="Send the credentials as JSON.")
    if _too_many_failures(session, body.email, settings):
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
    return {"agent": _agent_view(agent), "csrf_token": row.csrf_token}


@api.delete("/session", status_code=status.HTTP_204_NO_CONTENT)
def sign_out(agent: CurrentAgent, request: Request, response: Response, session: SessionDep) -> Response:
    row = get_agent_session(session, request.cookies.get(SESSION_COOKIE))
    agents.close_session(session, row)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response


@api.get("/me")
def me(request: Request, session: SessionDep, agent: CurrentAgent) -> dict[str, Any]:
    row = get_agent_session(session, request.cookies.get(SESSION_COOKIE))
    return {"agent": _agent_view(agent), "csrf_token": row.csrf_token}


# -------------------------------------------------------------------------------------------------------
# The queue and one conversation
# -------------------------------------------------------------------------------------------------------

@api.get("/queue")
def read_queue(agent: CurrentAgent, session: SessionDep) -> dict[str, Any]:
    return {"handoffs": agent_desk.queue_view(session)}


@api.get("/conversations/{conversation_id}")
def read_conversation(conversation_id: str, agent: CurrentAgent, session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    return agent_desk.conversation_view(session, settings, conversation_id, agent)


@api.get("/confirmations/{number}.pdf", response_class=Response, responses={200: {"content": {"application/pdf": {}}}})
def read_confirmation_pdf(number: str, agent: CurrentAgent, session: SessionDep) -> Response:
    """A written confirmation, for the agent (the debtor's link asks for the date of birth instead)."""
    confirmation = session.scalar(select(Confirmation).where(Confirmation.number == number))
    if confirmation is None:
        raise NotFound()
    return pdf_response(confirmation)


@api.post("/conversations/{conversation_id}/claim")
def claim(conversation_id: str, agent: CurrentAgent, session: SessionDep) -> dict[str, Any]:
    handoff = handoffs.claim(session, conversation_id, agent)
    return {"handoff_id": handoff.id, "status": handoff.status, "claimed_by": {"id": agent.id, "name": agent.name}}


@api.post("/conversations/{conversation_id}/release")
def release(conversation_id: str, agent: CurrentAgent, session: SessionDep) -> dict[str, Any]:
    handoff = handoffs.release(session, conversation_id, agent)
    return {"handoff_id": handoff.id, "status": handoff.status}


class TextIn(BaseModel):
    text: str = Field(min_length=1, max_length=1600)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the text is empty")
        return value.strip()


@api.post("/conversations/{conversation_id}/messages", status_code=201)
def send_message(
    conversation_id: str, body: TextIn, agent: CurrentAgent, session: SessionDep, settings: SettingsDep, transports: TransportsDep
) -> dict[str, Any]:
    message = agent_desk.reply(session, settings, conversation_id, agent, body.text, transports)
    return {"id": message.id, "status": message.status, "channel": message.channel}


@api.post("/conversations/{conversation_id}/notes", status_code=201)
def add_note(conversation_id: str, body: TextIn, agent: CurrentAgent, session: SessionDep) -> dict[str, Any]:
    note = agent_desk.add_note(session, conversation_id, agent, body.text)
    return {"id": note.id}


class VerifyIn(BaseModel):
    reference: str = Field(min_length=1, max_length=64)
    date_of_birth: dt.date


@api.post("/conversations/{conversation_id}/verify")
def verify(conversation_id: str, body: VerifyIn, agent: CurrentAgent, session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    result = agent_desk.verify(
        session, settings, conversation_id, agent, reference=body.reference, date_of_birth=body.date_of_birth
    )
    return {"verified": result.verified, "reference_locked": result.reference_locked}


class UnlockIn(BaseModel):
    reference: str = Field(min_length=1, max_length=64)


@api.post("/conversations/{conversation_id}/unlock-verification")
def unlock_verification(
    conversation_id: str, body: UnlockIn, agent: CurrentAgent, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    unlocked = agent_desk.unlock_verification(session, settings, conversation_id, agent, reference=body.reference)
    return {"unlocked": unlocked}


class CommitmentIn(BaseModel):
    kind: Literal["instalments", "deferral", "full", "settlement"]
    # Money as the agent types it ("50", "50.00", "50,00"), read exactly (no float) in the account's currency.
    instalment_amount: str | None = Field(default=None, max_length=20)
    instalment_count: int | None = Field(default=None, gt=0, le=120)
    first_due_date: dt.date | None = None
    frequency: Literal["weekly", "biweekly", "monthly"] = "monthly"
    # Required to go beyond the creditor's policy: why the agent agrees to it.
    outside_policy_reason: str | None = Field(default=None, min_length=5, max_length=500)


def minor_units(text: str, currency: str) -> int:
    """'1 234,50' or '1234.5' in `currency` as integer minor units; a ValueError when it is not an amount."""
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation as exc:
        raise ValueError(f"{text!r} is not an amount") from exc
    minor = amount.scaleb(get_currency_precision(currency))
    if minor != minor.to_integral_value() or minor <= 0 or minor > 10**11:
        raise ValueError(f"{text!r} is not a positive amount in {currency}")
    return int(minor)


@api.post("/conversations/{conversation_id}/commitments", status_code=201)
def record_commitment(
    conversation_id: str, body: CommitmentIn, agent: CurrentAgent, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound()
    currency = conversation.account.currency if conversation.account else "EUR"
    try:
        amount = minor_units(body.instalment_amount, currency) if body.instalment_amount else None
    except ValueError as exc:
        raise InvalidAmount() from exc
    proposal = offers.Proposal(
        kind=body.kind,
        instalment_amount_minor=amount,
        instalment_count=body.instalment_count,
        first_due_date=body.first_due_date,
        frequency=body.frequency,
    )
    commitment, confirmation = agent_desk.record_commitment(
        session, settings, conversation_id, agent, proposal, body.outside_policy_reason
    )
    return {
        "commitment_reference": commitment.reference,
        "confirmation_number": confirmation.number,
        "total_minor": commitment.total_minor,
        "instalments": len(commitment.instalments),
        "outside_policy": commitment.outside_policy_reason is not None,
    }


@api.post("/conversations/{conversation_id}/confirmations/{number}/send", status_code=201)
def send_confirmation(
    conversation_id: str, number: str, agent: CurrentAgent, session: SessionDep, settings: SettingsDep, transports: TransportsDep
) -> dict[str, Any]:
    message = agent_desk.send_confirmation(session, settings, conversation_id, agent, number, transports)
    return {"id": message.id, "status": message.status}


class DisputeIn(BaseModel):
    reason: Literal["not_mine", "wrong_amount", "already_paid", "product_or_service", "fraud"] | None = None


@api.post("/conversations/{conversation_id}/disputes", status_code=201)
def record_dispute(conversation_id: str, body: DisputeIn, agent: CurrentAgent, session: SessionDep) -> dict[str, Any]:
    dispute = agent_desk.record_dispute(session, conversation_id, agent, body.reason)
    return {"id": dispute.id}


@api.post("/conversations/{conversation_id}/vulnerability", status_code=201)
def flag_vulnerability(conversation_id: str, agent: CurrentAgent, session: SessionDep) -> dict[str, str]:
    agent_desk.flag_vulnerability(session, conversation_id, agent)
    return {"status": "flagged"}


class FinishIn(BaseModel):
    note: str | None = Field(default=None, max_length=1000)


@api.post("/conversations/{conversation_id}/hand-back")
async def hand_back(
    conversation_id: str, body: FinishIn, agent: CurrentAgent, settings: SettingsDep, conversation_router: RouterDep,
    transports: TransportsDep,
) -> dict[str, Any]:
    """Back to the bot: Rasa's tracker is brought up to date first, so the bot knows what was agreed."""

    def context() -> dict[str, Any]:
        with session_scope() as session:
            conversation, _ = handoffs.claimed_conversation(session, conversation_id, session.get(Agent, agent.id))
            return conversation_context(session, conversation, settings)

    events = handback_events(await to_thread.run_sync(context))
    await append_tracker_events(conversation_router.http, settings.rasa_url, settings.rasa_token, conversation_id, events)
    return await to_thread.run_sync(_finish, settings, conversation_id, agent, "handed_back", body.note, transports)


@api.post("/conversations/{conversation_id}/close")
async def close(
    conversation_id: str, body: FinishIn, agent: CurrentAgent, settings: SettingsDep, transports: TransportsDep
) -> dict[str, Any]:
    return await to_thread.run_sync(_finish, settings, conversation_id, agent, "closed", body.note, transports)


def _finish(
    settings: Settings, conversation_id: str, agent: Agent, outcome: str, note: str | None, transports: Transports
) -> dict[str, Any]:
    with session_scope() as session:
        conversation = agent_desk.finish(session, settings, conversation_id, session.get(Agent, agent.id), outcome, note, transports)
        return {"conversation_id": conversation.id, "state": conversation.state}


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

    def agent_id() -> int | None:
        with session_scope() as session:
            row = agents.session_of_token(session, websocket.cookies.get(SESSION_COOKIE))
            return row.agent_id if row else None

    signed_in = await to_thread.run_sync(agent_id)
    if signed_in is None:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
        return
    await websocket.accept()
    await hub.attach(websocket, signed_in)
    try:
        await websocket.send_json({"type": "hello"})
        while True:
            await websocket.receive_text()  # the console only listens; anything it sends is ignored
    except WebSocketDisconnect:
        pass
    finally:
        hub.detach(websocket)

