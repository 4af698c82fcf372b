"""Creditor API: the negotiation policy the bot offers within."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CreditorDep, SessionDep, SessionReleasingRoute
from api.models import NegotiationPolicy
from api.schemas.creditor import PolicyIn, PolicyOut
from api.services import creditor_api

router = APIRouter(route_class=SessionReleasingRoute, prefix="/api/v1/policy", tags=["policy"])


@router.get("", response_model=PolicyOut)
def read_policy(creditor: CreditorDep, session: SessionDep) -> NegotiationPolicy:
    return creditor_api.policy(session, creditor)


@router.put("", response_model=PolicyOut)
def update_policy(body: PolicyIn, creditor: CreditorDep, session: SessionDep) -> NegotiationPolicy:
    return creditor_api.update_policy(session, creditor, body)
