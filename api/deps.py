"""Dependencies declared once: the database session, the services built at start-up, the authenticated
creditor, the action server, the signed-in agent."""

from __future__ import annotations

import functools
import hashlib
import hmac
import inspect
from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Cookie, Depends, Header, HTTPException, Request, status
from fastapi.routing import APIRoute
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.config import Settings, get_settings
from api.core.limits import get_throttle
from api.db import session_scope
from api.models import Agent, AgentSession, Creditor
from api.services import agents
from api.services.outbox import Outbox
from api.services.router import ConversationRouter
from api.services.transport import Transports


def get_session() -> Iterator[Session]:
    with session_scope() as session:
        yield session


# Committed when the route returns and before the response leaves ("function" scope): a commit that fails
# answers 500, never a 200 or 201 for something that was not saved.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _released(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        sessions = [value for value in kwargs.values() if isinstance(value, Session)]
        try:
            result = endpoint(*args, **kwargs)
            for session in sessions:
                session.commit()
        finally:
            for session in sessions:
                session.close()  # rolls back what was not committed (an error) and gives the connection back
        return result

    return run


class SessionReleasingRoute(APIRoute):
    """A route whose synchronous endpoint commits its database session and gives its connection back in the
    endpoint's own thread. FastAPI runs a synchronous endpoint in one worker thread, then validates its answer
    in another and only then closes the request's dependencies: a session left open until then holds its pool
    connection (and, on SQLite, the write lock) while it waits for a free thread. Under load every thread can
    be waiting for a connection or the lock: the api stalled for good at 200 debtors (`bench/README.md`).
    A failed commit still answers 500 (the endpoint's exception)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _released(endpoint)
        super().__init__(path, endpoint, **kwargs)


SettingsDep = Annotated[Settings, Depends(get_settings)]


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def get_creditor(session: SessionDep, x_api_key: Annotated[str | None, Header(alias="X-API-Key")] = None) -> Creditor:
    creditor = session.scalar(select(Creditor).where(Creditor.api_key_hash == hash_api_key(x_api_key or "")))
    session.commit()  # read only: the connection goes back to the pool before the endpoint's thread
    if not x_api_key or creditor is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="A valid creditor API key is required in the X-API-Key header.",
        )
    get_throttle().check("creditor_request", str(creditor.id))
    return creditor


CreditorDep = Annotated[Creditor, Depends(get_creditor)]


# --- the services `create_app` builds once (the only place that reads the application's state) -------------


def get_router(request: Request) -> ConversationRouter:
    return request.app.state.router


def get_outbox(request: Request) -> Outbox:
    return request.app.state.outbox


def get_transports(request: Request) -> Transports:
    return request.app.state.transports


RouterDep = Annotated[ConversationRouter, Depends(get_router)]
OutboxDep = Annotated[Outbox, Depends(get_outbox)]
TransportsDep = Annotated[Transports, Depends(get_transports)]


def require_action_server(
    settings: SettingsDep, x_actions_token: Annotated[str | None, Header(alias="X-Actions-Token")] = None
) -> None:
    if not x_actions_token or not hmac.compare_digest(x_actions_token, settings.actions_token):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="A valid X-Actions-Token header is required.")


# --- the agent console: a session cookie, and a CSRF token on every state-changing request -----------------

SESSION_COOKIE = "console_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_agent_session(
    session: SessionDep, console_session: Annotated[str | None, Cookie(alias=SESSION_COOKIE)] = None
) -> AgentSession:
    row = agents.session_of_token(session, console_session)
    session.commit()  # read only (row and agent loaded): the connection goes back before the next thread
    if row is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="Sign in to the console first.")
    return row


AgentSessionDep = Annotated[AgentSession, Depends(get_agent_session)]


def get_console_user(
    request: Request, row: AgentSessionDep, x_csrf_token: Annotated[str | None, Header(alias="X-CSRF-Token")] = None
) -> Agent:
    """Whoever is signed in to the console, agent or manager."""
    if request.method not in SAFE_METHODS and not agents.csrf_matches(row, x_csrf_token):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="The X-CSRF-Token header is missing or wrong.")
    return row.agent


# Signing out and the dashboard: any role.
ConsoleUser = Annotated[Agent, Depends(get_console_user)]


def get_agent(user: ConsoleUser) -> Agent:
    """An agent, not a manager. Everything but the dashboard needs one: the queue, a conversation, and every
    action in it. A manager is read-only and sees figures, not debtors, so a new console route that takes
    `CurrentAgent` refuses managers without anyone having to remember it."""
    if agents.is_manager(user):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, detail="A manager's console is read-only: it shows the dashboard and changes nothing."
        )
    return user


CurrentAgent = Annotated[Agent, Depends(get_agent)]
