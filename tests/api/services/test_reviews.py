"""Disputes and vulnerability flags reach an end: a person resolves a dispute, the debtor gets the written
answer (message + PDF) and collection resumes only once it has left; a vulnerability flag is kept with a
support plan or cleared."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from api.core.config import get_settings
from api.db import session_scope
from api.models import Account, Confirmation, Contact, Conversation, Creditor, Dispute, Message
from api.services.outbox import Outbox, Sent
from api.services.scheduler import Scheduler
from tests.api_fixtures import make_commitment

PARIS = ZoneInfo("Europe/Paris")


class Sender:
    def __init__(self) -> None:
        self.sent: list[object] = []

    def send(self, message):
        self.sent.append(message)
        return Sent(sid=f"SM{len(self.sent):032d}", segments=1)


def at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=PARIS)


def next_workday() -> dt.date:
    return dt.datetime.now(PARIS).date() + dt.timedelta(days=1)


@pytest.fixture
def disputed(client, actions_headers) -> dict:
    """CR-10001 agreed a plan by SMS, then disputed the debt: collection is paused."""
    with session_scope() as session:
        session.scalar(select(Creditor)).follow_through = {"quiet_days": []}
    make_commitment(client, actions_headers, {"kind": "instalments", "instalment_count": 3})
    with session_scope() as session:
        conversation = session.scalar(select(Conversation).where(Conversation.verified_at.is_not(None)))
        conversation_id = conversation.id
    answer = client.post(
        f"/internal/v1/conversations/{conversation_id}/disputes", json={"reason": "wrong_amount"}, headers=actions_headers
    )
    assert answer.status_code == 201, answer.text
    with session_scope() as session:
        return {"dispute_id": session.scalar(select(Dispute.id)), "conversation_id": conversation_id}


def account() -> Account:
    with session_scope() as session:
        row = session.scalar(select(Account).where(Account.reference == "CR-10001"))
        session.expunge(row)
        return row


def send_phone_messages() -> list[object]:
    sender = Sender()
    outbox = Outbox(get_settings(), sender)
    outbox.send_due()
    return sender.sent


def test_a_rejected_dispute_gets_a_written_answer_and_collection_resumes_only_once_it_has_left(
    disputed, client, creditor_headers
):
    # Nothing collects meanwhile: the plan's reminders are cancelled as they fall due.
    Scheduler(get_settings()).tick(at(next_workday(), 10))
    body = {"outcome": "rejected", "explanation": "The invoice 2026-0815 was delivered and signed for on 3 September."}
    path = f"/api/v1/accounts/CR-10001/disputes/{disputed['dispute_id']}/resolution"
    resolved = client.post(path, json=body, headers=creditor_headers)
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "rejected" and resolved.json()["answered_at"] is None
    assert client.post(path, json=body, headers=creditor_headers).status_code == 409  # resolved once
    assert account().status == "disputed"  # not before the written answer has left

    # Sent at 22:00 local time? No: deferred to the morning, and collection still waits.
    evening = at(next_workday(), 22)
    assert Scheduler(get_settings()).tick(evening).deferred >= 1
    assert account().status == "disputed"
    report = Scheduler(get_settings()).tick(at(next_workday() + dt.timedelta(days=1), 8))
    assert report.sent >= 1
    with session_scope() as session:
        contact = session.scalar(select(Contact).where(Contact.kind == "dispute_answer"))
        message = session.get_one(Message, contact.message_id)
        assert contact.channel == "sms" and "/l/" in message.text  # the document's short link
        confirmation = session.scalar(select(Confirmation).where(Confirmation.kind == "dispute_answer"))
        assert confirmation.pdf.startswith(b"%PDF")
    assert account().status == "disputed"  # written, not yet left
    assert send_phone_messages()
    assert account().status == "arranged"  # the plan is active again
    with session_scope() as session:
        dispute = session.get_one(Dispute, disputed["dispute_id"])
        assert dispute.answered_at is not None and dispute.explanation.startswith("The invoice")


def test_an_upheld_dispute_corrects_the_balance_and_nothing_collects_before(disputed, client, creditor_headers):
    before = account().balance_minor
    path = f"/api/v1/accounts/CR-10001/disputes/{disputed['dispute_id']}/resolution"
    too_much = {
        "outcome": "upheld",
        "explanation": "Part of the invoice was billed twice.",
        "corrected_balance_minor": before + 1,
    }
    assert client.post(path, json=too_much, headers=creditor_headers).status_code == 422
    body = {"outcome": "upheld", "explanation": "Part of the invoice was billed twice.", "corrected_balance_minor": before - 5000}
    assert client.post(path, json=body, headers=creditor_headers).status_code == 200
    assert account().balance_minor == before - 5000
    view = client.get("/api/v1/accounts/CR-10001", headers=creditor_headers).json()
    (dispute,) = view["disputes"]
    assert (dispute["status"], dispute["balance_before_minor"], dispute["corrected_balance_minor"]) == (
        "upheld",
        before,
        before - 5000,
    )
    # A bot asking to record a payment plan meanwhile is refused: the account is still disputed.
    assert account().status == "disputed"


def test_closing_the_account_ends_its_plan_and_its_reminders(disputed, client, creditor_headers):
    path = f"/api/v1/accounts/CR-10001/disputes/{disputed['dispute_id']}/resolution"
    body = {"outcome": "upheld", "explanation": "The debt belongs to someone else.", "close_account": True}
    assert client.post(path, json=body, headers=creditor_headers).status_code == 200
    assert account().status == "closed"
    view = client.get("/api/v1/accounts/CR-10001", headers=creditor_headers).json()
    assert view["commitments"][0]["status"] == "cancelled"
    reminders = [c for c in view["contacts"] if c["kind"].startswith("reminder")]
    assert reminders and all(c["status"] == "cancelled" for c in reminders)
    answer = [c for c in view["contacts"] if c["kind"] == "dispute_answer"]
    assert [c["status"] for c in answer] == ["scheduled"]


def test_a_rejection_cannot_change_the_account(disputed, client, creditor_headers):
    path = f"/api/v1/accounts/CR-10001/disputes/{disputed['dispute_id']}/resolution"
    body = {"outcome": "rejected", "explanation": "Nothing to change here.", "close_account": True}
    assert client.post(path, json=body, headers=creditor_headers).status_code == 422


def test_a_vulnerability_flag_is_kept_with_a_support_plan_or_cleared_with_a_note(database):
    from api.services import reviews

    with session_scope() as session:
        row = session.scalar(select(Account).where(Account.reference == "CR-10001"))
        row.vulnerable = True
        reviews.review_vulnerability(
            session,
            row,
            decision="keep",
            note="Call on Tuesday mornings only, with her son present.",
            actor="agent:1",
            now=dt.datetime.now(dt.timezone.utc),
        )
    kept = account()
    assert kept.vulnerable and kept.care_plan.startswith("Call on Tuesday") and kept.care_reviewed_by == "agent:1"
    with session_scope() as session:
        row = session.scalar(select(Account).where(Account.reference == "CR-10001"))
        reviews.review_vulnerability(
            session,
            row,
            decision="clear",
            note="Flag raised by mistake: a quote from a film.",
            actor="agent:1",
            now=dt.datetime.now(dt.timezone.utc),
        )
    cleared = account()
    assert not cleared.vulnerable and cleared.care_plan is None
