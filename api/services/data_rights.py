"""The debtor's data rights (GDPR arts. 12(3), 15, 17, 18) and retention.

A request is recorded with its legal deadline (one month). **Access** exports everything held about the
debtor — the account, every conversation on every channel with its messages, signals, commitments,
confirmations, payments, contacts, consents, handoffs, agents' notes, disputes, claims, budgets, audit entries — as
JSON and as a readable PDF. **Erasure** removes what is not under a legal hold: the conversations' contents
(and Rasa's copy of them), signals' details, agents' notes, contact preferences, budgets; it keeps, minimised, what the
law requires for the retention period (commitments and their written confirmations, disputes, payments,
consents — an opt-out must stay honoured — and the audit log), and the debtor's identity and the debt while
the debt is open (art. 17(3)(b) and (e): the claim itself). **Restriction** stops all collection and
automated contact until lifted. **Rectification** is recorded for a person to act on.

The retention job (`retention_sweep`, run by the scheduler) erases in the same way the accounts closed or
paid for longer than the creditor's `retention_months`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api import i18n
from api.core.config import Settings
from api.core.logging import log
from api.db import Base
from api.models import (
    Account,
    AgentNote,
    AuditEntry,
    Budget,
    Commitment,
    Confirmation,
    Consent,
    Contact,
    ContactPreference,
    Conversation,
    Creditor,
    DataRequest,
    Dispute,
    Handoff,
    Message,
    Payment,
    PaymentClaim,
    Signal,
)
from api.services.audit import audit
from api.services.errors import Conflict
from api.states import AccountStatus, ConversationState

DEADLINE = dt.timedelta(days=30)  # "one month" (art. 12(3)), counted short
# An erasure asked in a conversation is carried out once nothing has been said in it for this long.
CONVERSATION_OVER_AFTER = dt.timedelta(minutes=15)
ERASED = "[erased]"
CLOSED = frozenset({AccountStatus.PAID, AccountStatus.CLOSED})
# Kept on an erasure, for the retention period, because a law requires them.
LEGAL_HOLDS = {
    "commitments": "the agreements and their written confirmations (evidence of the debt's terms)",
    "payments": "accounting records",
    "disputes": "the dispute and its answer (Reg F §1006.38, records §1006.100)",
    "consents": "opt-outs, so that they stay honoured",
    "audit": "who did what and when (Reg F §1006.100)",
}


def request_number(request: DataRequest) -> str:
    """How the request is named to the debtor and in the console."""
    return f"DR-{request.id:06d}"


def open_request(
    session: Session,
    settings: Settings,
    account: Account,
    kind: str,
    *,
    requested_by: str,
    note: str | None,
    now: dt.datetime,
    conversation: Conversation | None = None,
) -> tuple[DataRequest, list[str]]:
    """Records a request and carries it out when it needs no person (access, erasure, restriction). Answers
    the request and the conversations whose Rasa trackers must be cleared (an erasure).

    An erasure the debtor asks for in a conversation waits until that conversation is over (`carry_out_waiting`,
    run by the scheduler): erasing it while the debtor is still talking would erase the answer too."""
    if account.erased_at is not None and kind != "access":
        raise Conflict()
    request = DataRequest(
        account_id=account.id,
        conversation_id=conversation.id if conversation is not None else None,
        kind=kind,
        status="received",
        requested_by=requested_by,
        note=note,
        created_at=now,
        deadline=now + DEADLINE,
    )
    session.add(request)
    session.flush()
    audit(session, requested_by, "data_request_received", "data_request", request.id, kind=kind, account=account.reference)
    to_clear: list[str] = []
    if kind == "erasure" and conversation is not None:
        return request, to_clear
    if kind == "access":
        document = export(session, account, now)
        request.export_json = json.dumps(document, ensure_ascii=False, indent=2).encode()
        request.export_pdf = export_pdf(document, account.language, settings.font_dir)
        _complete(session, request, now, {"exported": sorted(k for k in document if k != "generated_at")})
    elif kind == "erasure":
        outcome, to_clear = erase(session, account, now, actor=requested_by)
        _complete(session, request, now, outcome)
    elif kind == "restriction":
        account.restricted = True
        _complete(session, request, now, {"restricted": True, "effect": "no collection and no automated contact until lifted"})
    return request, to_clear


def _complete(session: Session, request: DataRequest, now: dt.datetime, outcome: dict[str, Any]) -> None:
    request.status, request.completed_at, request.outcome = "completed", now, outcome
    audit(session, "system", "data_request_completed", "data_request", request.id, kind=request.kind)


def carry_out_waiting(session: Session, now: dt.datetime) -> list[str]:
    """Carries out the erasures asked in conversations now over (nothing said in them for
    `CONVERSATION_OVER_AFTER`, or closed); answers the conversations whose Rasa trackers must be cleared."""
    to_clear: list[str] = []
    waiting = session.scalars(
        select(DataRequest)
        .where(DataRequest.status == "received", DataRequest.kind == "erasure", DataRequest.conversation_id.is_not(None))
        .order_by(DataRequest.id)
    )
    for request in waiting:
        conversation = session.get_one(Conversation, request.conversation_id)
        last = conversation.last_message_at or request.created_at
        over = conversation.state == ConversationState.CLOSED or last <= now - CONVERSATION_OVER_AFTER
        if not over and now < request.deadline:
            continue
        account = session.get_one(Account, request.account_id)
        if account.erased_at is not None:  # erased meanwhile (another request, the retention job)
            _complete(session, request, now, {"already_erased_at": account.erased_at.isoformat()})
            continue
        outcome, ids = erase(session, account, now, actor=request.requested_by)
        _complete(session, request, now, outcome)
        to_clear += ids
    return to_clear


def lift_restriction(session: Session, account: Account, actor: str) -> None:
    account.restricted = False
    audit(session, actor, "restriction_lifted", "account", account.reference)


# -------------------------------------------------------------------------------------------------------
# Access
# -------------------------------------------------------------------------------------------------------


def _row(row: Base, skip: Iterable[str] = ()) -> dict[str, Any]:
    """A row's columns as JSON values (dates as ISO 8601, documents left out: they have their own links)."""
    values: dict[str, Any] = {}
    for column in row.__table__.columns:
        if column.key in skip:
            continue
        value = getattr(row, column.key)
        if isinstance(value, bytes):
            continue
        values[column.key] = value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value
    return values


def conversations_of(session: Session, account: Account) -> list[Conversation]:
    """Every conversation about the account, on every channel (verified or on the account's number)."""
    return list(session.scalars(select(Conversation).where(Conversation.about(account.id)).order_by(Conversation.created_at)))


def export(session: Session, account: Account, now: dt.datetime) -> dict[str, Any]:
    """Everything held about the debtor, section by section."""

    def rows(model: Any, *order: Any) -> list[Any]:
        return list(session.scalars(select(model).where(model.account_id == account.id).order_by(*order)))

    conversations = conversations_of(session, account)
    conversation_ids = [c.id for c in conversations]
    commitments = rows(Commitment, Commitment.agreed_at)
    payments = rows(Payment, Payment.id)
    disputes = rows(Dispute, Dispute.id)
    related = {
        ("account", account.reference),
        ("account", str(account.id)),
        *(("commitment", c.reference) for c in commitments),
        *(("payment", str(p.id)) for p in payments),
        *(("dispute", str(d.id)) for d in disputes),
    }
    entries = [
        e
        for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        if (e.entity, e.entity_id) in related or (e.detail or {}).get("account") == account.reference
    ]
    creditor = session.get_one(Creditor, account.creditor_id)
    return {
        "generated_at": now.isoformat(),
        "creditor": {"name": creditor.name, "address": creditor.address},
        "account": _row(account),
        "conversations": [
            {
                **_row(conversation),
                "messages": [
                    _row(m)
                    for m in session.scalars(
                        select(Message).where(Message.conversation_id == conversation.id).order_by(Message.id)
                    )
                ],
            }
            for conversation in conversations
        ],
        "signals": [_row(s) for s in rows(Signal, Signal.id)],
        "commitments": [{**_row(c), "instalments": [_row(i) for i in c.instalments]} for c in commitments],
        "confirmations": [_row(c) for c in rows(Confirmation, Confirmation.created_at)],
        "payments": [{**_row(p), "allocations": [_row(a) for a in p.allocations]} for p in payments],
        "contacts": [{**_row(c), "decisions": [_row(d) for d in c.decisions]} for c in rows(Contact, Contact.id)],
        "consents": [_row(c) for c in rows(Consent, Consent.id)],
        "contact_preferences": [_row(p) for p in rows(ContactPreference, ContactPreference.id)],
        "disputes": [_row(d) for d in disputes],
        "payment_claims": [_row(p) for p in rows(PaymentClaim, PaymentClaim.id)],
        "budgets": [_row(b) for b in rows(Budget, Budget.id)],
        "handoffs": [_row(h) for h in session.scalars(select(Handoff).where(Handoff.conversation_id.in_(conversation_ids)))],
        "agent_notes": [
            _row(n)
            for n in session.scalars(
                select(AgentNote).where(or_(AgentNote.account_id == account.id, AgentNote.conversation_id.in_(conversation_ids)))
            )
        ],
        "data_requests": [_row(r, skip=("export_json", "export_pdf")) for r in rows(DataRequest, DataRequest.id)],
        "audit": [_row(e) for e in entries],
    }


def export_pdf(document: dict[str, Any], language: str, font_dir: Path) -> bytes:
    """The same export, readable: one section per kind of record, one line per field."""
    pdf = FPDF(format="A4")
    pdf.add_font("DejaVuSans", "", str(Path(font_dir) / "DejaVuSans.ttf"))
    pdf.add_font("DejaVuSans", "B", str(Path(font_dir) / "DejaVuSans-Bold.ttf"))
    pdf.set_creation_date(dt.datetime.fromisoformat(document["generated_at"]))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("DejaVuSans", "B", 15)
    pdf.multi_cell(0, 8, i18n.t("data_export.title", language), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVuSans", size=9)
    pdf.multi_cell(
        0, 5, i18n.t("data_export.intro", language, date=document["generated_at"][:10]), new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    for section, content in document.items():
        if section == "generated_at":
            continue
        pdf.ln(3)
        pdf.set_font("DejaVuSans", "B", 11)
        pdf.multi_cell(0, 6, i18n.t(f"data_export.{section}", language), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("DejaVuSans", size=8)
        for line in _lines(content):
            pdf.multi_cell(0, 4, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def _lines(content: Any, indent: str = "") -> list[str]:
    if isinstance(content, list):
        if not content:
            return [f"{indent}—"]
        lines: list[str] = []
        for item in content:
            lines += _lines(item, indent)
            lines.append("")
        return lines
    if isinstance(content, dict):
        lines = []
        for key, value in content.items():
            if isinstance(value, (list, dict)) and value:
                lines.append(f"{indent}{key}:")
                lines += _lines(value, indent + "    ")
            elif value not in (None, "", [], {}):
                lines.append(f"{indent}{key}: {value}")
        return lines
    return [f"{indent}{content}"]


# -------------------------------------------------------------------------------------------------------
# Erasure and retention
# -------------------------------------------------------------------------------------------------------


def erase(session: Session, account: Account, now: dt.datetime, actor: str) -> tuple[dict[str, Any], list[str]]:
    """Erases what no law requires us to keep; answers what was done (and kept, and why) and the
    conversations whose Rasa trackers must be cleared."""
    conversations = conversations_of(session, account)
    ids = [c.id for c in conversations]
    messages = 0
    for conversation in conversations:
        for message in session.scalars(select(Message).where(Message.conversation_id == conversation.id)):
            message.text, message.payload = ERASED, None
            messages += 1
        # The address (a phone number, a web session's digest) goes too; opt-outs keep theirs in `consents`.
        conversation.channel_address = f"erased:{conversation.id}"
        conversation.state = ConversationState.CLOSED
    for signal in session.scalars(select(Signal).where(Signal.account_id == account.id)):
        signal.detail = None
    for note in session.scalars(
        select(AgentNote).where(or_(AgentNote.account_id == account.id, AgentNote.conversation_id.in_(ids)))
    ):
        note.text = ERASED
    for handoff in session.scalars(select(Handoff).where(Handoff.conversation_id.in_(ids))):
        handoff.summary = {"erased": True}
    for preference in session.scalars(select(ContactPreference).where(ContactPreference.account_id == account.id)):
        session.delete(preference)
    budgets = 0
    for budget in session.scalars(select(Budget).where(Budget.account_id == account.id)):
        session.delete(budget)  # the debtor's income and costs: no law asks us to keep them
        budgets += 1
    for earlier in session.scalars(select(DataRequest).where(DataRequest.account_id == account.id)):
        earlier.export_json = earlier.export_pdf = None  # a copy made for an access request holds it all
    kept = dict(LEGAL_HOLDS)
    if account.status in CLOSED:
        account.debtor_name, account.phone, account.email = ERASED, None, None
        account.date_of_birth, account.postcode, account.origin = None, None, ""
    else:
        kept["identity"] = "the debtor's identity and the debt, while the debt is open (GDPR art. 17(3)(b) and (e))"
    account.erased_at = now
    audit(session, actor, "data_erased", "account", account.reference, conversations=len(ids), messages=messages)
    log.info("data_erased", account_id=account.id, conversations=len(ids), messages=messages)
    return {"erased": {"conversations": len(ids), "messages": messages, "budgets": budgets}, "kept": kept}, ids


def _months_before(moment: dt.datetime, months: int) -> dt.datetime:
    """The same day `months` earlier (the month's last day when it has fewer days)."""
    total = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(total, 12)
    for day in range(moment.day, 27, -1):
        try:
            return moment.replace(year=year, month=month + 1, day=day)
        except ValueError:
            continue
    return moment.replace(year=year, month=month + 1, day=28)


def retention_sweep(session: Session, now: dt.datetime) -> list[str]:
    """Erases the accounts closed or paid for longer than their creditor's retention; answers the
    conversations whose Rasa trackers must be cleared."""
    to_clear: list[str] = []
    candidates = session.scalars(select(Account).where(Account.status.in_(CLOSED), Account.erased_at.is_(None)))
    for account in candidates:
        months = session.get_one(Creditor, account.creditor_id).retention_months
        if account.updated_at > _months_before(now, months):
            continue
        _, ids = erase(session, account, now, actor="system:retention")
        to_clear += ids
    return to_clear
