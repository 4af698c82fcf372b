"""Agents of the console: accounts with hashed passwords (argon2), and server-side sign-in sessions.

The session cookie holds a random token; the database keeps only its SHA-256, so a copy of the database
does not let anyone sign in. Each session has its own CSRF token, which every state-changing console
request must echo in the X-CSRF-Token header.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.models import Agent, AgentCreditor, AgentSession, AuditEntry, Creditor, utcnow
from api.services.audit import audit
from api.services.errors import AgentExists, InvalidCredentials, NoCreditor, UnknownCreditor, WeakPassword
from api.states import AgentRole

_hasher = PasswordHasher()
# A real hash of a random password: signing in with an unknown e-mail costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
MIN_PASSWORD_CHARS = 12
# Refused sign-ins are counted over this window (the console's limit is per agent).
SIGN_IN_WINDOW = dt.timedelta(minutes=15)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_agent(
    session: Session,
    *,
    email: str,
    name: str,
    password: str,
    creditor_ids: Sequence[int],
    actor: str = "system",
    role: AgentRole = AgentRole.AGENT,
) -> Agent:
    """A person of the console who serves `creditor_ids` (at least one: an agent sees nobody else's debtors, a
    manager nobody else's figures). An agent works the queue; a manager reads the dashboard and changes nothing."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise WeakPassword()
    if not creditor_ids:
        raise NoCreditor()
    email = normalise_email(email)
    if session.scalar(select(Agent.id).where(Agent.email == email)) is not None:
        raise AgentExists()
    agent = Agent(email=email, name=name.strip(), password_hash=_hasher.hash(password), role=AgentRole(role))
    session.add(agent)
    session.flush()
    assign(session, agent, creditor_ids, actor=actor)
    audit(session, actor, "agent_created", "agent", agent.id, role=agent.role)
    return agent


def assign(session: Session, agent: Agent, creditor_ids: Sequence[int], actor: str = "system") -> list[int]:
    """Adds creditors the agent serves (each must exist); answers all of them."""
    known = set(session.scalars(select(Creditor.id).where(Creditor.id.in_(creditor_ids))))
    if missing := set(creditor_ids) - known:
        raise UnknownCreditor(f"no creditor {sorted(missing)}")
    served = set(creditor_ids_of(session, agent))
    for creditor_id in sorted(known - served):
        session.add(AgentCreditor(agent_id=agent.id, creditor_id=creditor_id))
    session.flush()
    audit(session, actor, "agent_assigned", "agent", agent.id, creditors=sorted(known))
    return sorted(served | known)


def creditor_ids_of(session: Session, agent: Agent) -> list[int]:
    return list(session.scalars(select(AgentCreditor.creditor_id).where(AgentCreditor.agent_id == agent.id)))


def is_manager(agent: Agent) -> bool:
    """A manager reads the dashboard and changes nothing: no queue, no conversation, no action."""
    return agent.role == AgentRole.MANAGER


def set_password(session: Session, agent: Agent, password: str, actor: str = "system") -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise WeakPassword()
    agent.password_hash = _hasher.hash(password)
    # A new password ends every open session of that agent.
    for open_session in session.scalars(
        select(AgentSession).where(AgentSession.agent_id == agent.id, AgentSession.revoked_at.is_(None))
    ):
        open_session.revoked_at = utcnow()
    audit(session, actor, "agent_password_set", "agent", agent.id)


def authenticate(session: Session, email: str, password: str) -> Agent:
    agent = session.scalar(select(Agent).where(Agent.email == normalise_email(email)))
    try:
        _hasher.verify(agent.password_hash if agent else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        audit(session, "anonymous", "agent_sign_in_refused", "agent", agent.id if agent else None)
        raise InvalidCredentials() from None
    if agent is None or not agent.active:
        raise InvalidCredentials()
    if _hasher.check_needs_rehash(agent.password_hash):
        agent.password_hash = _hasher.hash(password)
    agent.last_login_at = utcnow()
    return agent


def too_many_failures(session: Session, email: str, limit: int) -> bool:
    """True when the agent with this e-mail had `limit` refused sign-ins within the window (an unknown
    e-mail is never throttled: it cannot sign in anyway)."""
    agent_id = session.scalar(select(Agent.id).where(Agent.email == normalise_email(email)))
    if agent_id is None:
        return False
    failures = session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "agent_sign_in_refused", AuditEntry.entity_id == str(agent_id))
        .where(AuditEntry.created_at >= utcnow() - SIGN_IN_WINDOW)
    )
    return (failures or 0) >= limit


def open_session(session: Session, agent: Agent, lifetime: dt.timedelta) -> tuple[str, AgentSession]:
    """A new signed-in session; returns the cookie token (shown once, never stored) and the row."""
    token = secrets.token_urlsafe(32)
    row = AgentSession(
        token_hash=_token_hash(token),
        agent_id=agent.id,
        csrf_token=secrets.token_urlsafe(32),
        expires_at=utcnow() + lifetime,
    )
    session.add(row)
    session.flush()
    audit(session, f"agent:{agent.id}", "agent_signed_in", "agent", agent.id)
    return token, row


def session_of_token(session: Session, token: str | None) -> AgentSession | None:
    """The live session of a cookie token, or None (unknown, expired, revoked, agent deactivated)."""
    if not token:
        return None
    row = session.get(AgentSession, _token_hash(token))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow() or not row.agent.active:
        return None
    return row


def csrf_matches(row: AgentSession, presented: str | None) -> bool:
    return presented is not None and bool(presented) and hmac.compare_digest(row.csrf_token, presented)


def close_session(session: Session, row: AgentSession) -> None:
    row.revoked_at = utcnow()
    audit(session, f"agent:{row.agent_id}", "agent_signed_out", "agent", row.agent_id)
