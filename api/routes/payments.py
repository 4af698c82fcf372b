"""Creditor API: payments received for the creditor's accounts (and refunds or reversals of them), as the
creditor reports them or as its payment provider posts them (a signed webhook)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy.orm import Session

from api.deps import CreditorDep, SessionDep, SessionReleasingRoute
from api.models import Creditor
from api.schemas.creditor import PaymentIn, PaymentOut, PaymentWebhookSecretOut
from api.services import account_view, payment_webhook, payments

router = APIRouter(route_class=SessionReleasingRoute, prefix="/api/v1/payments", tags=["payments"])

_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
_RECORDED: dict[int | str, dict[str, Any]] = {
    200: {"model": PaymentOut, "description": "This external_id was recorded already: the first payment, unchanged"},
    404: {**_PROBLEM, "description": "None of the creditor's accounts has this reference"},
    409: {**_PROBLEM, "description": "A different payment was recorded under this external_id"},
    422: {"description": "Invalid fields, another currency than the account's, or a reversal of more than was paid"},
}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PaymentOut, responses=_RECORDED)
def record_payment(body: PaymentIn, creditor: CreditorDep, session: SessionDep, response: Response) -> PaymentOut:
    """Records a payment and allocates it: the active plan's instalments oldest first, the rest as credit (no
    plan: what is owed, then credit). A negative amount is a refund or reversal: it reopens what it undoes,
    the payment named by `reverses`, or the latest allocations. Sending the same external_id again records
    nothing more and answers 200 with the first result."""
    return _record(session, creditor, body, "api", response)


async def _raw_body(request: Request) -> bytes:
    # The signature covers the bytes as sent: they are read before anything parses them.
    return await request.body()


@router.post(
    "/webhook/{creditor_id}",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentOut,
    responses={
        **_RECORDED,
        401: {**_PROBLEM, "description": "X-Payment-Signature missing, malformed, wrong, or older or newer than 5 minutes"},
        404: {**_PROBLEM, "description": "No webhook secret is set up for this creditor, or no account has this reference"},
    },
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PaymentIn"}}}}
    },
)
def receive_payment_webhook(
    creditor_id: int,
    body: Annotated[bytes, Depends(_raw_body)],
    session: SessionDep,
    response: Response,
    x_payment_signature: Annotated[str | None, Header(alias=payment_webhook.SIGNATURE_HEADER)] = None,
) -> PaymentOut:
    """A payment posted by the creditor's payment provider, signed with the creditor's webhook secret
    (no API key): `X-Payment-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. The body
    has the fields of POST /api/v1/payments and is answered the same way; a delivery that is not signed
    right, or was signed more than 5 minutes away from now, is refused with 401 and records nothing. A
    replay within those minutes records nothing more either: it answers 200 with the first payment."""
    creditor = payment_webhook.authenticate(session, creditor_id, x_payment_signature, body)
    try:
        payment = PaymentIn.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False)
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from exc
    return _record(session, creditor, payment, "webhook", response)


@router.post("/webhook-secret", response_model=PaymentWebhookSecretOut)
def rotate_payment_webhook_secret(creditor: CreditorDep, session: SessionDep) -> PaymentWebhookSecretOut:
    """A new secret for the payment provider's webhook (POST /api/v1/payments/webhook/{creditor_id}), shown
    this once: keep it in the provider's settings. The previous secret stops working at once."""
    return PaymentWebhookSecretOut(
        secret=payment_webhook.new_secret(session, creditor),
        header=payment_webhook.SIGNATURE_HEADER,
        scheme=payment_webhook.SIGNATURE_SCHEME,
    )


def _record(session: Session, creditor: Creditor, body: PaymentIn, source: str, response: Response) -> PaymentOut:
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
        source=source,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    (view,) = account_view.payment_views(session, [payment])
    return view
