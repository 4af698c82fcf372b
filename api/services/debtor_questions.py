"""The debtor's questions about their own file and about us, answered from the account's real data.

What is my plan and when is my next payment; what have I paid (a statement); a copy of the written
confirmation again; a copy of the document the debt is based on (a person sends it: the request joins the
agents' queue); what happens if I miss an instalment (the creditor's own missed-payment settings); the
collector's full contact details; and where to complain beyond us (the creditor's escalation contacts). The
file questions need a verified conversation (`NotVerified` otherwise); the last two do not: they are about
us, not about the debtor. Texts are in the conversation's language; the sentences around them live in
domain.yml.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import get_day_names
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import i18n
from api.core.config import Settings
from api.models import Confirmation, Conversation, Creditor, Payment
from api.services import contacts, handoffs, hours, records, signing
from api.services.bot_api import language_of
from api.services.bot_context import active_commitment, commitment_view
from api.services.errors import NotFound
from api.services.presentation import debtor_today

# The latest payments a statement lists one by one; older ones are counted in the total.
STATEMENT_LINES = 10
DOCUMENT_REQUEST = "document_request"


def plan(session: Session, settings: Settings, conversation: Conversation) -> dict[str, Any]:
    """The active plan as it stands: every instalment with its status, the next one, what is left."""
    account = records.require_account(conversation)
    language = language_of(conversation, settings)
    commitment = active_commitment(session, account.id)
    total = i18n.format_money(account.balance_minor + account.fees_minor, account.currency, language)
    if commitment is None:
        return {"has_plan": False, "total_text": total}
    view = commitment_view(commitment, language)
    left = [i for i in commitment.instalments if i.status != "paid"]
    return {
        "has_plan": True,
        "total_text": total,
        "commitment_reference": commitment.reference,
        "schedule_text": view["schedule_text"],
        "next_due_text": view["next_due_text"],
        "instalments_left": len(left),
        "left_text": i18n.format_money(sum(i.amount_minor - i.paid_minor for i in left), commitment.currency, language),
    }


def statement(session: Session, settings: Settings, conversation: Conversation) -> dict[str, Any]:
    """What the creditor has received for this account, newest first, and what is still owed."""
    account = records.require_account(conversation)
    language = language_of(conversation, settings)
    payments = session.scalars(
        select(Payment).where(Payment.account_id == account.id).order_by(Payment.paid_at.desc(), Payment.id.desc())
    ).all()
    zone = ZoneInfo(account.timezone)

    def line(payment: Payment) -> str:
        day = i18n.format_date(payment.paid_at.astimezone(zone).date(), language)
        money = i18n.format_money(payment.amount_minor, payment.currency, language)
        return f"• {day} : {money} ({i18n.t(f'payment_method.{payment.method}', language)})"

    shown = payments[:STATEMENT_LINES]
    return {
        "payments_count": len(payments),
        "payments_text": "\n".join(line(p) for p in shown),
        "earlier_count": len(payments) - len(shown),
        "paid_text": i18n.format_money(sum(p.amount_minor for p in payments), account.currency, language),
        "total_text": i18n.format_money(account.balance_minor + account.fees_minor, account.currency, language),
        "as_of_text": i18n.format_date(debtor_today(account), language),
    }


def confirmation_copy(session: Session, settings: Settings, conversation: Conversation) -> dict[str, Any]:
    """The latest written confirmation of this account, behind a fresh signed link (it asks for the date of
    birth). `NotFound` when nothing was ever confirmed in writing."""
    account = records.require_account(conversation)
    confirmation = session.scalar(
        select(Confirmation)
        .where(Confirmation.account_id == account.id)
        .order_by(Confirmation.created_at.desc(), Confirmation.number.desc())
        .limit(1)
    )
    if confirmation is None:
        raise NotFound()
    language = language_of(conversation, settings)
    return {
        "confirmation_number": confirmation.number,
        "issued_text": i18n.format_date(confirmation.created_at.astimezone(ZoneInfo(account.timezone)).date(), language),
        "document_url": signing.document_url(confirmation.id, settings),
    }


def request_original_document(session: Session, settings: Settings, conversation: Conversation) -> dict[str, Any]:
    """A copy of the invoice or contract the debt is based on: what the file says of its origin now, and the
    request queued for a person, who sends the document (the bot holds no copy of it)."""
    account = records.require_account(conversation)
    language = language_of(conversation, settings)
    handoff, team = handoffs.request_handoff(session, conversation, DOCUMENT_REQUEST)

    def money(minor: int) -> str:
        return i18n.format_money(minor, account.currency, language)

    return {
        "handoff_id": handoff.id,
        "debt_origin": account.origin,
        "principal_text": money(account.balance_minor - account.interest_minor),
        "interest_text": money(account.interest_minor),
        "fees_text": money(account.fees_minor),
        "handoff": handoffs.debtor_view(team, conversation),
    }


def missed_payment_rules(session: Session, settings: Settings, conversation: Conversation) -> dict[str, Any]:
    """What a missed instalment does under this creditor's settings (the scheduler applies the same ones)."""
    account = records.require_account(conversation)
    policy = contacts.settings_of(session, account)
    return {
        "grace_days": policy.grace_days,
        "reminder_days_after": policy.grace_reminder_days_after,
        "on_miss": policy.on_miss,
        "break_after": policy.break_after_consecutive_misses,
    }


def contact_details(session: Session, settings: Settings, conversation: Conversation) -> dict[str, Any]:
    """Who we are and how to reach a person: the collector's name, address, phone and e-mail, the hours its
    advisers answer, and the creditor on whose behalf it acts."""
    creditor = session.get_one(Creditor, conversation.creditor_id)
    language = language_of(conversation, settings)
    return {
        "collector_name": settings.collector_name,
        "collector_address": settings.collector_address,
        "collector_phone": settings.collector_phone,
        "collector_email": settings.collector_email,
        "hours_text": hours_text(creditor.agent_hours, language),
        "creditor_name": creditor.name,
        "creditor_address": creditor.address,
    }


def complaint_escalation(session: Session, settings: Settings, conversation: Conversation) -> dict[str, Any]:
    """Where to complain beyond us, as the creditor set it for the debtor's language (mediator, ombudsman,
    regulator), after our own complaints process."""
    creditor = session.get_one(Creditor, conversation.creditor_id)
    language = language_of(conversation, settings)
    escalation = creditor.complaint_escalation or {}
    lines = escalation.get(language) or escalation.get("en") or []
    return {"escalation_text": "\n".join(f"• {line}" for line in lines), "configured": bool(lines)}


def hours_text(raw: dict[str, Any] | None, language: str) -> str:
    """The team's weekly hours in words, consecutive days with the same hours together: "lundi – vendredi :
    09:00–18:00 (Europe/Paris)"."""
    team = hours.parse_hours(raw or hours.DEFAULT_HOURS)
    names = get_day_names("wide", locale=i18n.LOCALES.get(language, i18n.LOCALES["en"]))

    def clock(moment: dt.time) -> str:
        return "24:00" if moment == dt.time.max else moment.strftime("%H:%M")

    groups: list[tuple[int, int, str]] = []  # first day, last day, hours
    for day in range(7):
        text = ", ".join(f"{clock(start)}–{clock(end)}" for start, end in team.weekly.get(day, ()))
        if not text:
            continue
        if groups and groups[-1][1] == day - 1 and groups[-1][2] == text:
            groups[-1] = (groups[-1][0], day, text)
        else:
            groups.append((day, day, text))
    colon = " : " if language == "fr" else ": "
    parts = [f"{names[a] if a == b else f'{names[a]} – {names[b]}'}{colon}{text}" for a, b, text in groups]
    return f"{'; '.join(parts)} ({team.timezone.key})" if parts else ""
