"""Creditor API: load accounts and read everything recorded about them."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Response, status

from api.deps import CreditorDep, SessionDep, SessionReleasingRoute, SettingsDep
from api.models import Account, DataRequest, utcnow
from api.routes.documents import pdf_response
from api.schemas.creditor import (
    AccountDetailOut,
    AccountIn,
    AccountOut,
    DataRequestIn,
    DataRequestOut,
    DisputeOut,
    DisputeResolutionIn,
    VerificationUnlockOut,
)
from api.services import account_view, creditor_api, data_rights, reviews
from api.services.errors import Conflict, NotFound
from api.services.rasa import clear_trackers_now
from api.services.verification import unlock_reference

router = APIRouter(route_class=SessionReleasingRoute, prefix="/api/v1/accounts", tags=["accounts"])


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


@router.post("/{reference:path}/verification-unlock")
def unlock_verification(
    reference: str, creditor: CreditorDep, session: SessionDep, settings: SettingsDep
) -> VerificationUnlockOut:
    """Lifts the lock that repeated failed verifications put on this reference (after checking the
    debtor's identity by other means)."""
    account = _find(session, creditor.id, reference)
    return VerificationUnlockOut(
        unlocked=unlock_reference(session, settings, creditor.id, account.reference, f"creditor:{creditor.id}")
    )


@router.post("/{reference:path}/disputes/{dispute_id}/resolution")
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
    "/{reference:path}/confirmations/{number}.pdf", response_class=Response, responses={200: {"content": {"application/pdf": {}}}}
)
def read_confirmation_pdf(reference: str, number: str, creditor: CreditorDep, session: SessionDep) -> Response:
    """A written confirmation of one of the creditor's accounts, as sent to the debtor."""
    confirmation = account_view.find_confirmation(session, number, _find(session, creditor.id, reference))
    if confirmation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"No confirmation {number!r} on account {reference!r}.")
    return pdf_response(confirmation)


@router.post("/{reference:path}/data-requests", status_code=status.HTTP_201_CREATED)
def open_data_request(
    reference: str, body: DataRequestIn, creditor: CreditorDep, session: SessionDep, settings: SettingsDep
) -> DataRequestOut:
    """A data subject's request (GDPR): access is exported at once (JSON and PDF), erasure carried out at once
    (what the law requires is kept, and said), restriction applied at once; rectification waits for a
    person. The deadline is one month. 409 for anything but access once the data was erased."""
    account = _find(session, creditor.id, reference)
    request, conversations = data_rights.open_request(
        session, settings, account, body.kind, requested_by=f"creditor:{creditor.id}", note=body.note, now=utcnow()
    )
    if conversations:  # what the debtor said is erased from Rasa's trackers too
        not_cleared = clear_trackers_now(settings, conversations)
        request.outcome = {**request.outcome, "rasa_trackers_cleared": len(conversations) - len(not_cleared)}
        if not_cleared:
            request.outcome = {**request.outcome, "rasa_trackers_not_cleared": len(not_cleared)}
    base = f"{settings.base_url}/api/v1/accounts/{account.reference}/data-requests"
    return account_view.data_request_view(request, base)


def _file_name(reference: str) -> str:
    """A reference as part of a file name (a slash would make it a path)."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in reference)


def _data_request(session: SessionDep, account: Account, request_id: int) -> DataRequest:
    request = session.get(DataRequest, request_id)
    if request is None or request.account_id != account.id:
        raise NotFound()
    return request


@router.get("/{reference:path}/data-requests/{request_id}")
def read_data_request(
    reference: str, request_id: int, creditor: CreditorDep, session: SessionDep, settings: SettingsDep
) -> DataRequestOut:
    account = _find(session, creditor.id, reference)
    base = f"{settings.base_url}/api/v1/accounts/{account.reference}/data-requests"
    return account_view.data_request_view(_data_request(session, account, request_id), base)


@router.get(
    "/{reference:path}/data-requests/{request_id}/export.{form}",
    response_class=Response,
    responses={200: {"content": {"application/json": {}, "application/pdf": {}}}},
)
def read_data_export(
    reference: str, request_id: int, form: Literal["json", "pdf"], creditor: CreditorDep, session: SessionDep
) -> Response:
    """The export of an access request, to hand to the debtor."""
    request = _data_request(session, _find(session, creditor.id, reference), request_id)
    content = request.export_json if form == "json" else request.export_pdf
    if content is None:
        raise NotFound()
    media = "application/json" if form == "json" else "application/pdf"
    return Response(
        content,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="data-{_file_name(reference)}-{request_id}.{form}"'},
    )


@router.delete("/{reference:path}/restriction")
def lift_restriction(reference: str, creditor: CreditorDep, session: SessionDep) -> AccountOut:
    """Lifts a restriction of processing (the accuracy was checked, or the debtor withdrew it)."""
    account = _find(session, creditor.id, reference)
    data_rights.lift_restriction(session, account, f"creditor:{creditor.id}")
    return AccountOut.model_validate(account, from_attributes=True)


# Last: a reference may hold a slash ("2024/000123"), so these match whatever follows /accounts/, and the
# routes above, with their own endings, must be tried first.
@router.put("/{reference:path}", response_model=AccountOut)
def update_account(reference: str, body: AccountIn, creditor: CreditorDep, session: SessionDep) -> Account:
    account = _find(session, creditor.id, reference)
    if body.reference != account.reference:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail="The reference in the body must match the URL.")
    return creditor_api.update_account(session, creditor, account, body)


@router.get("/{reference:path}")
def read_account(reference: str, creditor: CreditorDep, session: SessionDep, settings: SettingsDep) -> AccountDetailOut:
    return account_view.creditor_account_view(session, settings, _find(session, creditor.id, reference))
