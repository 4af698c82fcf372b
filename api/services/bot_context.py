"""What the bot knows of a conversation, and the Rasa slots that mirror it.

The action server reads it (`GET /internal/v1/conversations/{id}/context`) at the start of a session and
after verification; the api pushes the same slots into Rasa's tracker when an agent hands a conversation
back, so the bot continues from what the agent settled. One mapping, used both ways.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api import i18n
from api.core.config import Settings
from api.models import Commitment, Conversation, Creditor
from api.services import records
from api.services.presentation import account_view, payment_methods
from api.services.verification import DEFAULT_REFERENCE_EXAMPLE

# Slots a hand-back clears: whatever the bot was in the middle of before the agent took over is over.
CLEARED_SLOTS = (
    "offer_id",
    "offer_stage",
    "plan_type",
    "plan_amount",
    "plan_date",
    "plan_frequency",
    "requested_slot",
    # A budget being answered (its figures, where it stands). Whether the debtor declined, skipped or gave one
    # (`budget_answer`) stays: it is not offered again in the conversation.
    "budget_stage",
    "budget_currency",
    "budget_income",
    "budget_housing",
    "budget_bills",
    "budget_food",
    "budget_transport",
    "budget_other_costs",
    "budget_other_debts",
)
# What the bot knows of a verified debtor's file (bot_slots): forgotten when the verification expires.
ACCOUNT_SLOTS = (
    "debtor_name",
    "account_reference",
    "balance_text",
    "fees_text",
    "total_text",
    "due_date_text",
    "debt_origin",
    "payment_methods_text",
    "collection_paused",
    "vulnerable",
    "commitment_reference",
    "plan_text",
)


def active_commitment(session: Session, account_id: int) -> Commitment | None:
    return session.scalar(
        select(Commitment)
        .where(Commitment.account_id == account_id, Commitment.status == "active")
        .order_by(Commitment.agreed_at.desc())
        .limit(1)
    )


def commitment_view(commitment: Commitment, language: str) -> dict[str, Any]:
    def money(minor: int) -> str:
        return i18n.format_money(minor, commitment.currency, language)

    upcoming = [i for i in commitment.instalments if i.status == "due"]
    return {
        "reference": commitment.reference,
        "status": commitment.status,
        "total_text": money(commitment.total_minor),
        "schedule_text": "\n".join(
            f"• {i18n.format_date(i.due_date, language)} : {money(i.amount_minor)}" for i in commitment.instalments
        ),
        "next_due_text": (
            f"{i18n.format_date(upcoming[0].due_date, language)} : {money(upcoming[0].amount_minor)}" if upcoming else ""
        ),
    }


def conversation_context(session: Session, conversation: Conversation, settings: Settings) -> dict[str, Any]:
    creditor = session.get_one(Creditor, conversation.creditor_id)
    language = conversation.language or settings.default_language
    verified = conversation.verified_at is not None and conversation.account is not None
    account = conversation.account if verified else None
    plan = None
    if account is not None:
        commitment = active_commitment(session, account.id)
        plan = commitment_view(commitment, language) if commitment else None
    context: dict[str, Any] = {
        "conversation_id": conversation.id,
        "channel": conversation.channel,
        "language": language,
        "state": conversation.state,
        "creditor_name": creditor.name,
        "collector_name": settings.collector_name,
        "verified": verified,
        "locked": conversation.locked_at is not None,
        "opted_out": records.is_opted_out(session, conversation.channel, conversation.channel_address),
        "privacy_contact": settings.privacy_contact,
        "reference_example": creditor.reference_example or DEFAULT_REFERENCE_EXAMPLE,
        "account": (
            {
                **account_view(account, creditor.name, language, payment_methods(creditor, account, language)),
                "vulnerable": account.vulnerable,
            }
            if account
            else None
        ),
        "plan": plan,
    }
    context["slots"] = bot_slots(context)
    return context


def bot_slots(context: dict[str, Any]) -> dict[str, Any]:
    """The Rasa slots for a context (names and values as domain.yml declares them)."""
    account = context.get("account")
    slots: dict[str, Any] = {
        "language": context["language"],
        "channel": context["channel"],
        "creditor_name": context["creditor_name"],
        "collector_name": context["collector_name"],
        "privacy_contact": context.get("privacy_contact"),
        "reference_example": context.get("reference_example") or DEFAULT_REFERENCE_EXAMPLE,
        "identity": "verified" if context["verified"] else ("locked" if context["locked"] else "unverified"),
    }
    if account:
        plan = context.get("plan")
        slots.update(
            {
                "language": account["language"] if context["language"] is None else context["language"],
                "debtor_name": account["debtor_name"],
                "account_reference": account["reference"],
                "balance_text": account["balance_text"],
                "fees_text": account["fees_text"],
                "total_text": account["total_text"],
                "due_date_text": account["due_date_text"],
                "debt_origin": account["origin"],
                "payment_methods_text": "\n".join(f"• {line}" for line in account.get("payment_methods", [])),
                "collection_paused": account["collection_paused"],
                "vulnerable": account["vulnerable"],
                "commitment_reference": plan["reference"] if plan else None,
                "plan_text": plan["schedule_text"] if plan else None,
            }
        )
    return slots


def identity_expired_events() -> list[dict[str, Any]]:
    """Rasa tracker events that make the bot forget a verification that expired: it asks again before any
    detail, and holds nothing of the file meanwhile."""
    events: list[dict[str, Any]] = [{"event": "active_loop", "name": None}]
    events += [{"event": "slot", "name": name, "value": None} for name in (*CLEARED_SLOTS, *ACCOUNT_SLOTS, "identity_secret")]
    events.append({"event": "slot", "name": "identity", "value": "unverified"})
    return events


def handback_events(context: dict[str, Any]) -> list[dict[str, Any]]:
    """Rasa tracker events that bring the bot up to date after an agent's part of the conversation."""
    events: list[dict[str, Any]] = [{"event": "active_loop", "name": None}]
    events += [{"event": "slot", "name": name, "value": None} for name in CLEARED_SLOTS]
    events += [{"event": "slot", "name": name, "value": value} for name, value in context["slots"].items()]
    return events
