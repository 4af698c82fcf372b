"""What the bot shows about an account or an offer: amounts and dates formatted for the debtor's language.

Only numbers and dates are formatted here (Babel); the sentences around them live in domain.yml.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any
from zoneinfo import ZoneInfo

from api import i18n
from api.core.config import Settings
from api.models import Account, Creditor, Offer


def account_view(account: Account, creditor_name: str, language: str, payment_methods: list[str]) -> dict[str, Any]:
    def money(minor: int) -> str:
        return i18n.format_money(minor, account.currency, language)

    return {
        "reference": account.reference,
        "debtor_name": account.debtor_name,
        "currency": account.currency,
        "balance_minor": account.balance_minor,
        "fees_minor": account.fees_minor,
        "balance_text": money(account.balance_minor),
        "fees_text": money(account.fees_minor),
        "total_text": money(account.balance_minor + account.fees_minor),
        "due_date_text": i18n.format_date(account.due_date, language),
        "origin": account.origin,
        "creditor_name": creditor_name,
        "status": account.status,
        "collection_paused": account.status == "disputed" or account.restricted,
        "language": account.language,
        "payment_methods": payment_methods,
    }


def offer_view(offer: Offer, language: str) -> dict[str, Any]:
    def money(minor: int) -> str:
        return i18n.format_money(minor, offer.currency, language)

    def day(iso: str) -> str:
        return i18n.format_date(dt.date.fromisoformat(iso), language)

    schedule = offer.schedule
    first, last = schedule[0], schedule[-1]
    return {
        "offer_id": offer.id,
        "kind": offer.kind,
        "status": offer.status,
        "reasons": offer.reasons,
        "currency": offer.currency,
        "total_minor": offer.total_minor,
        "total_text": money(offer.total_minor),
        "instalment_count": len(schedule),
        "instalment_text": money(first["amount_minor"]),
        "last_instalment_text": money(last["amount_minor"]),
        "first_date_text": day(first["due_date"]),
        "last_date_text": day(last["due_date"]),
        "frequency_text": i18n.t(f"frequency.{offer.frequency}", language) if offer.frequency else "",
        "fees_waived_text": money(offer.fees_waived_minor) if offer.fees_waived_minor else "",
        "discount_text": money(offer.discount_minor) if offer.discount_minor else "",
        "schedule_text": "\n".join(f"• {day(i['due_date'])} : {money(i['amount_minor'])}" for i in schedule),
        "schedule": schedule,
    }


def limits_view(policy: Any, account: Account, language: str, today: dt.date) -> dict[str, Any]:
    """The creditor's bounds, formatted, so the bot can explain a counter-offer."""
    return {
        "min_instalments": policy.min_instalments,
        "max_instalments": policy.max_instalments,
        "min_instalment_text": i18n.format_money(policy.min_instalment_minor, account.currency, language),
        "latest_date_text": i18n.format_date(today + dt.timedelta(days=policy.max_deferral_days), language),
        "latest_first_date_text": i18n.format_date(today + dt.timedelta(days=policy.max_first_payment_days), language),
        "fees_waivable": bool(policy.fee_waiver_allowed and account.fees_minor),
        "fees_text": i18n.format_money(account.fees_minor, account.currency, language),
    }


def debtor_today(account: Account) -> dt.date:
    """Today where the debtor lives."""
    return dt.datetime.now(ZoneInfo(account.timezone)).date()


def short_reference(prefix: str, today: dt.date) -> str:
    """A document's or commitment's number, e.g. CONF-2026-3F9A1C2B."""
    return f"{prefix}-{today.year}-{secrets.token_hex(4).upper()}"


def payment_methods(creditor: Creditor, account: Account, language: str) -> list[str]:
    """The creditor's payment instructions in the debtor's language, with the account's reference filled in."""
    methods = creditor.payment_methods or {}
    lines = methods.get(language) or methods.get("en") or []
    return [line.format(reference=account.reference) for line in lines]


def document_heading(
    creditor: Creditor, account: Account, settings: Settings, *, language: str, number: str, issued_at: dt.datetime
) -> dict[str, Any]:
    """The fields every written document about `account` carries (confirmation_pdf.WrittenDocument). The French
    rules follow the account's law, whatever language the debtor reads."""
    return {
        "language": language,
        "confirmation_number": number,
        "account_reference": account.reference,
        "creditor_name": creditor.name,
        "creditor_address": creditor.address,
        "collector_name": settings.collector_name,
        "collector_address": settings.collector_address,
        "debtor_name": account.debtor_name,
        "currency": account.currency,
        "payment_methods": tuple(payment_methods(creditor, account, language)),
        "issued_at": issued_at,
        "french_law_notice": account.jurisdiction == "FR",
        "interest_minor": account.interest_minor,
        "origin": account.origin,
    }
