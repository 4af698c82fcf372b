"""Creditor API: payments received for the creditor's accounts (and refunds or reversals of them)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from api.deps import CreditorDep, SessionDep
from api.schemas.creditor import PaymentIn, PaymentOut
from api.services import account_view, payments

router = APIRouter(prefix="/api/v1/payments", tags=["payments"])

_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentOut,
    responses={
        200: {"model": PaymentOut, "description": "This external_id was recorded already: the first payment, unchanged"},
        404: {**_PROBLEM, "description": "None of the creditor's accounts has this reference"},
        409: {**_PROBLEM, "description": "A different payment was recorded under this external_id"},
        422: {"description": "Invalid fields, another currency than the account's, or a reversal of more than was paid"},
    },
)
def record_payment(body: PaymentIn, creditor: CreditorDep, session: SessionDep, response: Response) -> PaymentOut:
    """Records a payment and allocates it: the active plan's instalments oldest first, the rest as credit (no
    plan: what is owed, then credit). A negative amount is a refund or reversal: it reopens what it undoes,
    the payment named by `reverses`, or the latest allocations. Sending the same external_id again records
    nothing more and answers 200 with the first result."""
    payment, created = payments.record_payment(
        session,
        creditor,
        reference=body.reference,
        amount_minor=body.amount_minor,
        currency=body.currency,
        paid_at=body.paid_at,
        method=body.method,
        external_id=body.external_id,
        reverses=body.reverses,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    (view,) = account_view.payment_views(session, [payment])
    return view
