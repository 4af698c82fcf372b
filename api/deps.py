"""Dependencies declared once: the database session, the authenticated creditor, the action server."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, HTTPException, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.config import Settings, get_settings
from api.db import session_scope
from api.models import Creditor


def get_session() -> Iterator[Session]:
    with session_scope() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def get_creditor(
    session: SessionDep, x_api_key: Annotated[str | None, Header(alias="X-API-Key")] = None
) -> Creditor:
    creditor = session.scalar(select(Creditor).where(Creditor.api_key_hash == hash_api_key(x_api_key or "")))
    if not x_api_key or creditor is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="A valid creditor API key is required in the X-API-Key header.",
        )
    return creditor


CreditorDep = Annotated[Creditor, Depends(get_creditor)]


def require_action_server(
    settings: SettingsDep, x_actions_token: Annotated[str | None, Header(alias="X-Actions-Token")] = None
) -> None:
    if not x_actions_token or not hmac.compare_digest(x_actions_token, settings.actions_token):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="A valid X-Actions-Token header is required.")
