"""Creditor API: the follow-through settings — contact cadence, contact hours and quiet days, grace period and
missed-payment policy (docs/follow-through.md lists each setting and its default)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CreditorDep, SessionDep, SessionReleasingRoute
from api.services import creditor_api
from api.services.follow_through import FollowThrough

router = APIRouter(route_class=SessionReleasingRoute, prefix="/api/v1/follow-through", tags=["follow-through"])


@router.get("")
def read_follow_through(creditor: CreditorDep) -> FollowThrough:
    """The settings in force, defaults filled in."""
    return creditor_api.follow_through_settings(creditor)


@router.put("")
def update_follow_through(body: FollowThrough, creditor: CreditorDep, session: SessionDep) -> FollowThrough:
    """Replaces the settings (a setting left out takes its default). Contacts already planned keep their
    moment; the gate applies the new hours, quiet days and cap when they are due."""
    return creditor_api.update_follow_through(session, creditor, body)
