"""Creditor API: when the creditor's agents answer handed-over conversations, and which disputes they review."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CreditorDep, SessionDep, SessionReleasingRoute
from api.schemas.creditor import HandoffSettings
from api.services import creditor_api

router = APIRouter(route_class=SessionReleasingRoute, prefix="/api/v1/handoff-settings", tags=["handoffs"])


@router.get("")
def read_handoff_settings(creditor: CreditorDep) -> HandoffSettings:
    return creditor_api.handoff_settings(creditor)


@router.put("")
def update_handoff_settings(body: HandoffSettings, creditor: CreditorDep, session: SessionDep) -> HandoffSettings:
    return creditor_api.update_handoff_settings(session, creditor, body)
