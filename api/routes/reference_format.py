"""Creditor API: what the creditor's file references look like (checked on every account placed, and shown
as an example to debtors asked for theirs)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CreditorDep, SessionDep, SessionReleasingRoute
from api.schemas.creditor import ReferenceFormat
from api.services import creditor_api

router = APIRouter(route_class=SessionReleasingRoute, prefix="/api/v1/reference-format", tags=["accounts"])


@router.get("")
def read_reference_format(creditor: CreditorDep, session: SessionDep) -> ReferenceFormat:
    return creditor_api.reference_format(session, creditor)


@router.put("")
def update_reference_format(body: ReferenceFormat, creditor: CreditorDep, session: SessionDep) -> ReferenceFormat:
    """Sets the format; answers it with the number of accounts already placed that do not follow it."""
    return creditor_api.update_reference_format(session, creditor, body)
