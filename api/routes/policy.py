"""Creditor API: the negotiation policy the bot offers within."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CreditorDep, SessionDep
from api.models import NegotiationPolicy
from api.schemas import PolicyIn, PolicyOut
from api.services.records import audit

router = APIRouter(prefix="/api/v1/policy", tags=["policy"])


def _policy(session: SessionDep, creditor_id: int) -> NegotiationPolicy:
    policy = session.query(NegotiationPolicy).filter_by(creditor_id=creditor_id).one_or_none()
    if policy is None:
        policy = NegotiationPolicy(creditor_id=creditor_id)
        session.add(policy)
        session.flush()
    return policy


@router.get("", response_model=PolicyOut)
def read_policy(creditor: CreditorDep, session: SessionDep) -> NegotiationPolicy:
    return _policy(session, creditor.id)


@router.put("", response_model=PolicyOut)
def update_policy(body: PolicyIn, creditor: CreditorDep, session: SessionDep) -> NegotiationPolicy:
    policy = _policy(session, creditor.id)
    for field, value in body.model_dump().items():
        setattr(policy, field, value)
    session.flush()
    audit(session, f"creditor:{creditor.id}", "policy_updated", "policy", policy.id, **body.model_dump())
    return policy
