"""Follow-through end to end, against the real services: a plan agreed in the web chat is followed by SMS as
the clock moves — a reminder before the first due date within local hours, the payment thanked with what
remains, a missed instalment reminded then moved, a second miss that breaks the plan and queues it for an
agent — and the debtor answers a reminder and gets the hardship branch with the plan in context. A newly
placed account gets its first contact. The clock is moved by `python -m api.cli contacts-tick --now …` (the
stack's own scheduler is off); the api's outbox sends what the tick wrote, through the fake Twilio."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import subprocess
import sys
import time
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import create_engine, text

from api.services.sms_text import to_gsm7
from scripts.stack import ROOT
from tests.e2e.accounts import new_account
from tests.e2e.conftest import CREDITOR_KEY
from tests.e2e.phone_client import PhoneDebtor, bodies
from tests.e2e.webchat_client import WebChatDebtor, texts

PARIS = ZoneInfo("Europe/Paris")


def tick(stack, now: dt.datetime) -> str:
    """One scheduler tick at `now`, in another process over the stack's database (as cron would run it)."""
    env = {**os.environ, "DATABASE_URL": stack.database_url, "CREDITOR_API_KEY": CREDITOR_KEY, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "contacts-tick", "--now", now.isoformat()],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout


def rows(stack, sql: str, **params: object) -> list:
    with create_engine(stack.database_url).connect() as db:
        return list(db.execute(text(sql), params))


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=PARIS)


def wait_for_sms(debtor: PhoneDebtor, count: int = 1, timeout: float = 30) -> list[dict]:
    """The next `count` messages the fake Twilio received for the debtor's number (the outbox polls each second)."""
    deadline = time.monotonic() + timeout
    found: list[dict] = []
    while len(found) < count:
        found += debtor.new_messages()
        if time.monotonic() > deadline:
            raise AssertionError(f"{count} message(s) expected, {len(found)} arrived: {bodies(found)!r}")
        time.sleep(0.2)
    return found


def agree_a_three_instalment_plan(stack, account: dict) -> None:
    """In the web chat: verify, say it is hard to pay at once, propose a monthly amount for three instalments,
    agree to what the bot summarises, ask for SMS."""

    async def conversation() -> str:
        async with WebChatDebtor(stack.api_url, "fr") as debtor:
            for message in ("Bonjour", account["reference"], "12/03/1985", "je ne peux pas tout payer d'un coup"):
                await debtor.say(message)
            said = texts(await debtor.say("je peux payer 140 euros par mois"))
            for _ in range(3):
                if rows(
                    stack,
                    "select c.id from commitments c join accounts a on a.id = c.account_id where a.reference = :r",
                    r=account["reference"],
                ):
                    break
                said = texts(await debtor.say("oui je confirme"))
            await debtor.say("contactez-moi plutôt par SMS")
            return said

    asyncio.run(conversation())


def test_a_plan_agreed_in_the_web_chat_is_followed_through_by_sms(stack, creditor):
    assert creditor.put("/api/v1/follow-through", json={"quiet_days": []}).status_code == 200
    account = new_account(creditor, "fr")
    agree_a_three_instalment_plan(stack, account)
    (commitment_id, reference) = rows(
        stack,
        "select c.id, c.reference from commitments c join accounts a on a.id = c.account_id where a.reference = :r",
        r=account["reference"],
    )[0]
    dues = [
        dt.date.fromisoformat(str(r[0]))
        for r in rows(stack, "select due_date from instalments where commitment_id = :c order by sequence", c=commitment_id)
    ]
    amounts = [
        r[0]
        for r in rows(stack, "select amount_minor from instalments where commitment_id = :c order by sequence", c=commitment_id)
    ]
    assert len(dues) == 3, dues
    preference = rows(
        stack,
        "select channel from contact_preferences cp join accounts a on a.id = cp.account_id where a.reference = :r",
        r=account["reference"],
    )
    assert [p[0] for p in preference] == ["sms"], "the debtor asked for SMS"
    phone = PhoneDebtor(stack.twilio_url, stack.database_url, account["phone"])
    phone.new_messages()  # nothing so far

    # 3 days before the first due date, at 10:00 in Paris: the reminder, by SMS, with the plan's figures.
    assert "sent 1," in tick(stack, at(dues[0] - dt.timedelta(days=3), 10))
    (reminder,) = wait_for_sms(phone)
    assert "Rappel" in reminder["body"] and reference in reminder["body"] and "STOP" in reminder["body"]
    sent_at = rows(
        stack,
        "select sent_at from contacts where kind = 'reminder_before' and commitment_id = :c and status = 'sent'",
        c=commitment_id,
    )
    assert len(sent_at) == 1

    # The first instalment is paid: thanked, with the next instalment and what remains.
    paid_at = dt.datetime.now(dt.timezone.utc).isoformat()
    payment = {
        "reference": account["reference"],
        "amount_minor": amounts[0],
        "currency": "EUR",
        "paid_at": paid_at,
        "method": "card",
        "external_id": f"pay-{reference}",
    }
    assert creditor.post("/api/v1/payments", json=payment).status_code == 201
    assert creditor.post("/api/v1/payments", json=payment).status_code == 200  # the same payment counts once
    tick(stack, at(dues[0] - dt.timedelta(days=2), 10))
    (thanks,) = wait_for_sms(phone)
    assert "merci" in thanks["body"].lower() and "Prochaine" in thanks["body"]

    # The second instalment is not paid: a grace reminder 2 days after its due date.
    tick(stack, at(dues[1], 10))
    wait_for_sms(phone)  # the due-date reminder
    tick(stack, at(dues[1] + dt.timedelta(days=2), 10))
    (grace,) = wait_for_sms(phone)
    assert "pas encore" in grace["body"]

    # The debtor answers that reminder: verified again on this number, the hardship branch shows the plan.
    said = bodies(phone.say("je ne pourrai pas payer celle-ci"))
    said += bodies(phone.say(account["reference"]))
    said += bodies(phone.say("12/03/1985"))
    after = bodies(phone.say("je ne pourrai pas payer celle-ci, j'ai perdu mon travail"))
    assert reference in after, after  # the plan in force, before the options for a new one
    assert rows(
        stack,
        "select kind from signals s join accounts a on a.id = s.account_id where a.reference = :r and kind = 'hardship'",
        r=account["reference"],
    )

    # The grace period ends: the second instalment is missed and moved to the end of the plan.
    # (The stack's database is shared with the other end-to-end tests: a tick also serves their accounts,
    # so what is checked is this account's rows, not the tick's totals.)
    tick(stack, at(dues[1] + dt.timedelta(days=6), 10))
    second = rows(
        stack,
        "select status, original_due_date, due_date from instalments where commitment_id = :c and sequence = 2",
        c=commitment_id,
    )[0]
    assert second[0] == "missed" and str(second[1]) == dues[1].isoformat() and dt.date.fromisoformat(str(second[2])) > dues[2]
    assert rows(stack, "select status from commitments where id = :c", c=commitment_id)[0][0] == "active"
    moved = wait_for_sms(phone)
    assert "reportée" in bodies(moved)
    # The third is missed too: two in a row break the plan, and an agent gets it in the queue.
    tick(stack, at(dues[2] + dt.timedelta(days=6), 10))
    assert "a pris fin" in bodies(wait_for_sms(phone))
    assert rows(stack, "select status from commitments where id = :c", c=commitment_id)[0][0] == "broken"
    queue = rows(
        stack,
        "select h.reason from handoffs h join accounts a on a.id = h.account_id where a.reference = :r",
        r=account["reference"],
    )
    assert "plan_broken" in [q[0] for q in queue]
    view = creditor.get(f"/api/v1/accounts/{account['reference']}").json()
    kinds = {(c["kind"], c["status"]) for c in view["contacts"]}
    assert {("reminder_before", "sent"), ("payment_thanks", "sent"), ("reminder_grace", "sent"), ("plan_broken", "sent")} <= kinds


def test_a_newly_placed_account_gets_its_first_contact_and_nothing_about_the_debt(stack, creditor):
    assert creditor.put("/api/v1/follow-through", json={"quiet_days": []}).status_code == 200
    account = new_account(creditor, "fr", balance_minor=45678)
    phone = PhoneDebtor(stack.twilio_url, stack.database_url, account["phone"])
    tick(stack, at(dt.datetime.now(PARIS).date() + dt.timedelta(days=1), 10))
    (opening,) = wait_for_sms(phone)
    body = opening["body"]
    for required in ("assistant automatis", "recouvrement", "Lumière Énergie SA", "créance", "serviront", "STOP"):
        assert to_gsm7(required) in body, (required, body)  # as rendered for SMS
    # It links to the written notice (opened with the date of birth); the link and the notice's number aside,
    # it says nothing of the debt.
    assert re.search(r"https?://\S+/l/[\w-]+", body) and re.search(r"AVIS-\d{4}-[0-9A-F]{8}", body), body
    plain = re.sub(r"AVIS-\d{4}-[0-9A-F]{8}", "", re.sub(r"https?://\S+", "", body))
    for detail in ("456", account["reference"], "Marie", "Facture"):
        assert detail not in plain
    # The debtor answers: the bot opens with its disclosure and verifies before anything else.
    answer = bodies(phone.say("oui c'est moi, de quoi s'agit-il ?"))
    assert "456" not in answer and account["reference"] not in answer
    assert httpx.get(f"{stack.api_url}/health").status_code == 200
