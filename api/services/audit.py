"""The audit log: who (bot, debtor, creditor:<id>, agent:<id>, system) did what, to what, and when."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from api.models import AuditEntry


def audit(session: Session, actor: str, action: str, entity: str, entity_id: Any, **detail: Any) -> None:
    session.add(
        AuditEntry(
            actor=actor,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            detail=detail,
        )
    )
