"""Creditor API: load accounts and read everything recorded about them."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, status

from api.deps import CreditorDep, SessionDep, SettingsDep
from api.models import Account, utcnow
from api.routes.documents import pdf_response
from api.schemas.creditor import AccountDetailOut, AccountIn, AccountOut, DisputeOut, DisputeResolutionIn, VerificationUnlockOut
from api.services import account_view, creditor_api, reviews
from api.services.errors import Conflict
from api.services.verification import unlock_reference

router = APIRouter(prefix="/api/v1/accounts", tags=["accounts"])


def _find(session: SessionDep, creditor_id: int, reference: str) -> Account:
    """One of the calling creditor's accounts; another creditor's is as unknown as a missing one."""
    account = account_view.find_account(session, creditor_id, reference)
    if account is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"No account with reference {reference!r}.")
    return account


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AccountOut)
def create_account(body: AccountIn, creditor: CreditorDep, session: SessionDep) -> Account:
    """A new account (409 when the reference exists: update it with PUT instead)."""
    try:
        return creditor_api.create_account(session, creditor, body)
    except Conflict as exc:  # the generic problem would not say what to do instead
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail=f"An account with reference {body.reference!r} exists; use PUT to update it."
        ) from exc


@router.put("/{reference}", response_model=AccountOut)
def update_account(reference: str, body: AccountIn, creditor: CreditorDep, session: SessionDep) -> Account:
    account = _find(session, creditor.id, reference)
    if body.reference != account.reference:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail="The reference in the body must match the URL.")
    return creditor_api.update_account(session, creditor, account, body)


@router.get("/{reference}")
def read_account(reference: str, creditor: CreditorDep, session: SessionDep, settings: SettingsDep) -> AccountDetailOut:
    return account_view.creditor_account_view(session, settings, _find(session, creditor.id, reference))


@router.post("/{reference}/verification-unlock")
def unlock_verification(
    reference: str, creditor: CreditorDep, session: SessionDep, settings: SettingsDep
) -> VerificationUnlockOut:
    """Lifts the lock that repeated failed verifications put on this reference (after checking the
    debtor's identity by other means)."""
    account = _find(session, creditor.id, reference)
    return VerificationUnlockOut(
        unlocked=unlock_reference(session, settings, creditor.id, account.reference, f"creditor:{creditor.id}")
    )


@router.post("/{reference}/disputes/{dispute_id}/resolution")
def resolve_dispute(
    reference: str, dispute_id: int, body: DisputeResolutionIn, creditor: CreditorDep, session: SessionDep, settings: SettingsDep
) -> DisputeOut:
    """Resolves an open dispute. The debtor receives the written answer (message + PDF) on their channel,
    within contact hours; collection on the account resumes only once it has left. 409 when already resolved."""
    account = _find(session, creditor.id, reference)
    dispute = reviews.find_dispute(session, account, dispute_id)
    reviews.resolve_dispute(
        session,
        settings,
        dispute,
        outcome=body.outcome,
        explanation=body.explanation,
        actor=f"creditor:{creditor.id}",
        now=utcnow(),
        corrected_balance_minor=body.corrected_balance_minor,
        close_account=body.close_account,
    )
    return DisputeOut.model_validate(dispute, from_attributes=True)


@router.get(
    "/{reference}/confirmations/{number}.pdf", response_class=Response, responses={200: {"content": {"application/pdf": {}}}}
)
def read_confirmation_pdf(reference: str, number: str, creditor: CreditorDep, session: SessionDep) -> Response:
    """A written confirmation of one of the creditor's accounts, as sent to the debtor."""
    confirmation = account_view.find_confirmation(session, number, _find(session, creditor.id, reference))
    if confirmation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"No confirmation {number!r} on account {reference!r}.")
    return pdf_response(confirmation)
