"""Amounts as people type them, read exactly (no float) as integer minor units of a currency."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from babel.numbers import get_currency_precision
from sqlalchemy.orm import Session

from api.models import Conversation
from api.services.errors import InvalidAmount, NotFound

MAX_MINOR = 10**11
# The currency an amount is read in before the conversation is linked to an account (nothing can be
# recorded on it then: the amount is only checked for its form).
UNLINKED_CURRENCY = "EUR"


def minor_units(text: str, currency: str) -> int:
    """'1 234,50' or '1234.5' in `currency` as integer minor units; InvalidAmount when it is not a positive
    amount of that currency (more decimals than the currency has, zero, negative, too large, not a number)."""
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation as exc:
        raise InvalidAmount(f"{text!r} is not an amount") from exc
    if not amount.is_finite():
        raise InvalidAmount(f"{text!r} is not an amount")
    minor = amount.scaleb(get_currency_precision(currency))
    if minor != minor.to_integral_value() or minor <= 0 or minor > MAX_MINOR:
        raise InvalidAmount(f"{text!r} is not a positive amount in {currency}")
    return int(minor)


def typed_amount(session: Session, conversation_id: str, text: str | None) -> int | None:
    """An amount an agent typed for a conversation, in minor units of its account's currency (None if blank)."""
    if not text:
        return None
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound()
    return minor_units(text, conversation.account.currency if conversation.account else UNLINKED_CURRENCY)
