"""Creditor API: what the assistant tells debtors in the creditor's name (help in distress, where to complain
beyond the collector), per language."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CreditorDep, SessionDep, SessionReleasingRoute
from api.schemas.creditor import DebtorInformation
from api.services import creditor_api

router = APIRouter(route_class=SessionReleasingRoute, prefix="/api/v1/debtor-information", tags=["settings"])


@router.get("")
def read_debtor_information(creditor: CreditorDep) -> DebtorInformation:
    return creditor_api.debtor_information(creditor)


@router.put("")
def update_debtor_information(body: DebtorInformation, creditor: CreditorDep, session: SessionDep) -> DebtorInformation:
    return creditor_api.update_debtor_information(session, creditor, body)
