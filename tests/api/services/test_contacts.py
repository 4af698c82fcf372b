"""Follow-through against the real database and the api: a plan's reminders, a payment's thanks, misses and a
broken plan, the gate's status reasons, first contact, late and repeated ticks. The clock is the scheduler's
argument: tests move it instead of sleeping."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from api.core.config import get_settings
from api.db import session_scope
from api.models import (
    Account,
    Commitment,
    Consent,
    Contact,
    ContactDecision,
    ContactPreference,
    Conversation,
    Creditor,
    Dispute,
    Handoff,
    Instalment,
    Message,
    PaymentClaim,
)
from api.services.scheduler import Scheduler
from api.states import ContactKind
from tests.api_fixtures import make_commitment

PARIS = ZoneInfo("Europe/Paris")
PHONE = "+33612345678"  # CR-10001's number in the demo data


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=PARIS)


def tick(now: dt.datetime):
    return Scheduler(get_settings()).tick(now)


def sms_texts() -> list[str]:
    with session_scope() as session:
        return list(
            session.scalars(
                select(Message.text)
                .join(Conversation, Message.conversation_id == Conversation.id)
                .where(Conversation.channel == "sms", Conversation.channel_address == PHONE, Message.direction == "outbound")
                .order_by(Message.id)
            )
        )


def contacts(kind: ContactKind | None = None) -> list[tuple[str, str, str | None]]:
    with session_scope() as session:
        query = select(Contact.kind, Contact.status, Contact.reason).order_by(Contact.planned_for, Contact.id)
        if kind:
            query = query.where(Contact.kind == kind)
        return [tuple(row) for row in session.execute(query)]


def instalment_dates() -> list[dt.date]:
    with session_scope() as session:
        return list(session.scalars(select(Instalment.due_date).order_by(Instalment.sequence)))


@pytest.fixture
def plan(client, actions_headers) -> dict:
    """CR-10001 agrees 3 monthly instalments and asks to be contacted by SMS. The creditor has no quiet day,
    so that the moments below do not depend on the day of the week the tests run (the gate's tests cover
    quiet days)."""
    with session_scope() as session:
        session.scalar(select(Creditor)).follow_through = {"quiet_days": []}
    offer = make_commitment(client, actions_headers, {"kind": "instalments", "instalment_count": 3})
    with session_scope() as session:
        account = session.scalar(select(Account).where(Account.reference == "CR-10001"))
        session.add(ContactPreference(account_id=account.id, channel="sms"))
    return offer


def test_a_plan_gets_its_reminders_and_the_first_leaves_three_days_before_within_hours_by_sms(plan, client, creditor_headers):
    first = instalment_dates()[0]
    kinds = [kind for kind, _, _ in contacts()]
    assert kinds.count(ContactKind.REMINDER_DUE) == 3 and kinds.count(ContactKind.REMINDER_GRACE) == 3
    assert tick(at(first - dt.timedelta(days=3), 9, 59)).sent == 0
    assert tick(at(first - dt.timedelta(days=3), 10, 0)).sent == 1
    (text,) = sms_texts()
    assert "Rappel" in text and plan["commitment_reference"] in text and "STOP" in text
    assert tick(at(first - dt.timedelta(days=3), 10, 5)).sent == 0  # sent once
    view = client.get("/api/v1/accounts/CR-10001", headers=creditor_headers).json()
    sent = [c for c in view["contacts"] if c["status"] == "sent"]
    assert [(c["kind"], c["channel"]) for c in sent] == [("reminder_before", "sms")]
    assert sent[0]["scheduled_for"].endswith("+01:00")  # the debtor's local time, with its offset
    assert [d["outcome"] for d in sent[0]["decisions"]] == ["scheduled", "sent"]


def test_a_payment_is_thanked_with_what_remains_and_its_instalments_reminders_are_dropped(plan, client, creditor_headers):
    first = instalment_dates()[0]
    with session_scope() as session:
        amount = session.scalar(select(Instalment.amount_minor).order_by(Instalment.sequence).limit(1))
    paid_at = dt.datetime.now(dt.timezone.utc).isoformat()
    body = {
        "reference": "CR-10001",
        "amount_minor": amount,
        "currency": "EUR",
        "paid_at": paid_at,
        "method": "card",
        "external_id": "p-1",
    }
    assert client.post("/api/v1/payments", json=body, headers=creditor_headers).status_code == 201
    assert client.post("/api/v1/payments", json=body, headers=creditor_headers).status_code == 200  # counted once
    assert tick(at(first - dt.timedelta(days=5), 12, 1)).sent == 1
    (thanks,) = sms_texts()
    assert "merci" in thanks and "Prochaine échéance" in thanks
    tick(at(first, 10, 0))
    assert contacts(ContactKind.REMINDER_BEFORE)[0][1:] == ("cancelled", "instalment_paid")
    assert len(sms_texts()) == 1


def test_missed_instalments_move_to_the_end_then_break_the_plan_and_queue_it_for_an_agent(plan):
    first, second, third = instalment_dates()
    report = tick(at(first + dt.timedelta(days=6), 10))
    assert (report.sweep.missed, report.sweep.moved, report.sweep.broken) == (1, 1, 0)
    assert instalment_dates()[0] > third  # moved after the last one
    assert any("reportée" in text for text in sms_texts())
    report = tick(at(second + dt.timedelta(days=6), 10))
    assert report.sweep.broken == 1
    with session_scope() as session:
        assert session.scalar(select(Commitment.status)) == "broken"
        assert session.scalar(select(Handoff.reason).where(Handoff.reason == "plan_broken")) == "plan_broken"
    assert "a pris fin" in sms_texts()[-1]
    # Nothing more reminds of a plan that ended.
    tick(at(third, 10))
    assert all(status != "sent" for kind, status, _ in contacts(ContactKind.REMINDER_DUE)[2:])


def test_with_on_miss_keep_a_missed_instalment_stays_owed_where_it_is_and_a_grace_reminder_went_first(plan):
    with session_scope() as session:
        session.scalar(select(Creditor)).follow_through = {"quiet_days": [], "on_miss": "keep"}
    first, second, third = instalment_dates()
    tick(at(first + dt.timedelta(days=2), 10))
    assert [kind for kind, status, _ in contacts(ContactKind.REMINDER_GRACE) if status == "sent"] == [ContactKind.REMINDER_GRACE]
    report = tick(at(first + dt.timedelta(days=6), 10))
    assert (report.sweep.missed, report.sweep.moved, report.sweep.broken) == (1, 0, 0)
    assert instalment_dates() == [first, second, third]
    with session_scope() as session:
        assert session.scalar(select(Instalment.status).where(Instalment.due_date == first)) == "missed"


def test_a_reminder_due_at_22_30_is_deferred_to_08_00_the_next_allowed_day(plan):
    with session_scope() as session:
        session.scalar(select(Creditor)).follow_through = {"send_at": "22:30", "quiet_days": []}
        session.execute(ContactDecision.__table__.delete())
        session.execute(Contact.__table__.delete())
        commitment = session.scalar(select(Commitment))
        from api.services.contacts import plan_commitment

        plan_commitment(session, commitment, at(dt.date(2026, 1, 1), 0))
    first = instalment_dates()[0]
    day = first - dt.timedelta(days=3)
    expected = at(day + dt.timedelta(days=1), 8)
    with session_scope() as session:
        contact = session.scalar(select(Contact).where(Contact.kind == ContactKind.REMINDER_BEFORE).order_by(Contact.planned_for))
        # Applied when planned: the moment shown as upcoming is the one it will leave at.
        assert contact.planned_for == at(day, 22, 30)
        assert (contact.scheduled_for, contact.status, contact.reason) == (expected, "scheduled", "outside_contact_hours")
    assert tick(at(day, 22, 30)).sent == 0
    with session_scope() as session:
        # The rules change meanwhile (the debtor asked for the evening): applied again when it is due.
        account = session.scalar(select(Account).where(Account.reference == "CR-10001"))
        session.add(ContactPreference(account_id=account.id, channel="sms", time_window="evening"))
    report = tick(expected)
    assert report.sent == 0 and report.deferred == 1
    with session_scope() as session:
        contact = session.scalar(select(Contact).where(Contact.kind == ContactKind.REMINDER_BEFORE).order_by(Contact.planned_for))
        assert (contact.status, contact.reason, contact.scheduled_for) == (
            "deferred",
            "outside_contact_hours",
            at(expected.date(), 18),
        )
    assert tick(at(expected.date(), 18)).sent >= 1


@pytest.mark.parametrize("reason", ["dispute_open", "vulnerable", "opted_out", "payment_claim_pending"])
def test_a_status_reason_stops_collection_contacts_on_every_channel(plan, reason):
    with session_scope() as session:
        account = session.scalar(select(Account).where(Account.reference == "CR-10001"))
        if reason == "dispute_open":
            session.add(Dispute(account_id=account.id, reason="not_mine"))
        elif reason == "vulnerable":
            account.vulnerable = True
        elif reason == "opted_out":
            for channel in ("sms", "whatsapp"):
                session.add(Consent(account_id=account.id, channel=channel, channel_address=PHONE, kind="opt_out"))
        else:
            session.add(PaymentClaim(account_id=account.id))
            account.reminders_paused = True
    first = instalment_dates()[0]
    assert tick(at(first - dt.timedelta(days=3), 10)).sent == 0
    assert contacts(ContactKind.REMINDER_BEFORE)[0][1:] == ("cancelled", reason)
    assert sms_texts() == []
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Message).where(Message.author == "system")) == 0


def test_opted_out_of_sms_a_reminder_goes_by_whatsapp_as_a_template_outside_the_window(plan):
    with session_scope() as session:
        account = session.scalar(select(Account).where(Account.reference == "CR-10001"))
        session.add(Consent(account_id=account.id, channel="sms", channel_address=PHONE, kind="opt_out"))
    first = instalment_dates()[0]
    assert tick(at(first - dt.timedelta(days=3), 10)).sent == 1
    with session_scope() as session:
        message = session.scalar(select(Message).where(Message.author == "system"))
        assert message.channel == "whatsapp" and message.payload["template"] == "reopen_conversation"


def test_contacts_due_while_the_scheduler_was_stopped_leave_once_and_stale_reminders_are_superseded(plan):
    first = instalment_dates()[0]
    # Stopped from before the first reminder until the due date's reminder is due as well.
    report = tick(at(first, 10, 30))
    assert report.sent == 1
    assert [row[1:] for row in contacts(ContactKind.REMINDER_BEFORE)[:1]] == [("cancelled", "superseded")]
    assert "aujourd'hui" in sms_texts()[0]
    assert tick(at(first, 10, 31)).sent == 0


def test_the_attempt_cap_defers_the_eighth_contact_in_seven_days(plan):
    first = instalment_dates()[0]
    now = at(first - dt.timedelta(days=3), 10)
    with session_scope() as session:
        account = session.scalar(select(Account).where(Account.reference == "CR-10001"))
        for n in range(7):
            moment = now - dt.timedelta(days=6, hours=-n)
            session.add(
                Contact(
                    key=f"earlier:{n}",
                    account_id=account.id,
                    kind="follow_up",
                    planned_for=moment,
                    scheduled_for=moment,
                    status="sent",
                    sent_at=moment,
                    channel="sms",
                )
            )
    report = tick(now)
    assert report.sent == 0 and report.deferred == 1
    assert contacts(ContactKind.REMINDER_BEFORE)[0][1:] == ("deferred", "contact_cap")


def test_a_newly_placed_account_gets_a_first_contact_with_the_disclosure_and_no_debt_detail(client, creditor_headers):
    body = {
        "reference": "CR-NEW-1",
        "debtor_name": "Nina Nouvelle",
        "phone": "+33611112222",
        "language": "fr",
        "balance_minor": 45678,
        "fees_minor": 0,
        "currency": "EUR",
        "due_date": "2026-11-30",
        "date_of_birth": "1990-01-01",
        "origin": "Facture 42",
    }
    assert client.post("/api/v1/accounts", json=body, headers=creditor_headers).status_code == 201
    assert tick(at(dt.date(2026, 12, 7), 10)).sent == 1
    with session_scope() as session:
        message = session.scalar(select(Message).where(Message.author == "system"))
        conversation = session.get(Conversation, message.conversation_id)
    assert conversation.channel_address == "+33611112222" and conversation.verified_at is None
    for required in ("assistant automatis", "recouvrement", "Recouvrement Amiable", "créance", "serviront", "STOP"):
        assert required in message.text, required
    for detail in ("456", "CR-NEW-1", "Facture", "Nina"):
        assert detail not in message.text


def test_an_already_paid_claim_is_confirmed_by_the_payment_or_goes_to_an_agent(plan, client, creditor_headers):
    with session_scope() as session:
        account = session.scalar(select(Account).where(Account.reference == "CR-10001"))
        conversation = session.scalar(select(Conversation).where(Conversation.account_id == account.id))
        session.add(PaymentClaim(account_id=account.id, conversation_id=conversation.id, paid_on=dt.date(2026, 12, 1)))
        account.reminders_paused = True
    # Unconfirmed after the creditor's 5 days: an agent's queue item, never silence.
    tick(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=6))
    with session_scope() as session:
        assert session.scalar(select(Handoff.reason).where(Handoff.reason == "payment_claim")) == "payment_claim"
    body = {
        "reference": "CR-10001",
        "amount_minor": 5000,
        "currency": "EUR",
        "paid_at": "2026-12-01T09:00:00+01:00",
        "method": "transfer",
        "external_id": "claimed",
    }
    assert client.post("/api/v1/payments", json=body, headers=creditor_headers).status_code == 201
    with session_scope() as session:
        assert session.scalar(select(PaymentClaim.status)) == "confirmed"
        assert session.scalar(select(Account.reminders_paused).where(Account.reference == "CR-10001")) is False
    tick(at(dt.date(2026, 12, 7), 10))
    assert any("retrouvé votre paiement" in text for text in sms_texts())


def test_without_a_plan_we_come_back_every_week_at_most_three_times_without_an_answer(client, actions_headers):
    """The bot says "we will contact you again to find a solution": a verified debtor with no plan."""
    with session_scope() as session:
        session.scalar(select(Creditor)).follow_through = {"quiet_days": []}
        creditor_id = session.scalar(select(Creditor.id))
        conversation = Conversation(creditor_id=creditor_id, channel="sms", channel_address=PHONE)
        session.add(conversation)
        session.flush()
        conversation_id = conversation.id
    verified = client.post(
        f"/internal/v1/conversations/{conversation_id}/verify",
        json={"reference": "CR-10001", "date_of_birth": "1985-03-12"},
        headers=actions_headers,
    )
    assert verified.json()["status"] == "verified"
    talked = dt.datetime.now(dt.timezone.utc)
    with session_scope() as session:
        session.get(Conversation, conversation_id).last_message_at = talked
    day = talked.astimezone(PARIS).date()
    assert tick(at(day + dt.timedelta(days=3), 10)).sweep.follow_ups == 0
    sent = 0
    for week in range(1, 6):
        report = tick(at(day + dt.timedelta(days=7 * week + 1), 10))
        sent += report.sent
    assert sent == 3  # then we stop until the debtor answers
    texts = sms_texts()
    assert len(texts) == 3 and all("reste" in text.lower() for text in texts)


def test_the_command_line_tick_moves_the_clock(plan, capsys):
    from api.cli import main

    first = instalment_dates()[0]
    main(["contacts-tick", "--now", at(first - dt.timedelta(days=3), 10).isoformat()])
    assert "sent 1," in capsys.readouterr().out
    assert len(sms_texts()) == 1
    with pytest.raises(SystemExit):
        main(["contacts-tick", "--now", "2026-12-07T10:00:00"])  # no offset: refused


def test_a_dispute_or_a_checked_claim_stops_the_clock_of_misses_and_a_broken_plan_leaves_a_dispute_disputed(plan):
    """Found by bench-followthrough: nothing is asked while a claim is checked or a dispute reviewed, so
    nothing is missed either; and a plan broken otherwise never turns a disputed account 'active'."""
    first, second, _ = instalment_dates()
    with session_scope() as session:
        account = session.scalar(select(Account).where(Account.reference == "CR-10001"))
        account.reminders_paused = True
    report = tick(at(second + dt.timedelta(days=6), 10))
    assert report.sweep.missed == 0
    with session_scope() as session:
        account = session.scalar(select(Account).where(Account.reference == "CR-10001"))
        account.reminders_paused = False
    report = tick(at(second + dt.timedelta(days=6), 11))
    assert report.sweep.broken == 1  # both overdue instalments, once the claim is settled
    with session_scope() as session:
        assert session.scalar(select(Account.status).where(Account.reference == "CR-10001")) == "active"


def test_a_follow_up_the_gate_cancels_is_not_planned_again_at_every_tick(client, actions_headers):
    """Found by bench-followthrough: an account opted out everywhere got a follow-up planned and cancelled
    at every tick; a cancelled follow-up now counts for the cadence."""
    with session_scope() as session:
        session.scalar(select(Creditor)).follow_through = {"quiet_days": []}
        creditor_id = session.scalar(select(Creditor.id))
        conversation = Conversation(creditor_id=creditor_id, channel="sms", channel_address=PHONE)
        session.add(conversation)
        session.flush()
        conversation_id = conversation.id
    client.post(
        f"/internal/v1/conversations/{conversation_id}/verify",
        json={"reference": "CR-10001", "date_of_birth": "1985-03-12"},
        headers=actions_headers,
    )
    with session_scope() as session:
        account = session.scalar(select(Account).where(Account.reference == "CR-10001"))
        for channel in ("sms", "whatsapp"):
            session.add(Consent(account_id=account.id, channel=channel, channel_address=PHONE, kind="opt_out"))
        session.get(Conversation, conversation_id).last_message_at = dt.datetime.now(dt.timezone.utc)
    day = dt.datetime.now(PARIS).date()
    planned = sum(tick(at(day + dt.timedelta(days=8), hour)).sweep.follow_ups for hour in range(9, 20))
    assert planned == 1
    assert contacts(ContactKind.FOLLOW_UP) == [("follow_up", "cancelled", "opted_out")]
