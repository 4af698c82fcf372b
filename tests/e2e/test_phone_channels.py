"""SMS and WhatsApp end to end: signed webhooks from the local fake Twilio, the real api, Rasa and actions.

Each test uses its own account and phone number (created through the creditor API), so the tests do not
depend on each other's records. Assertions are on what the api stored and on what the fake Twilio was
asked to send (bodies, segment counts).
"""

from __future__ import annotations

import io
import re
import statistics
import time

import httpx
import pytest
from pypdf import PdfReader
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from api.models import Message
from tests.e2e.accounts import new_account
from tests.e2e.phone_client import PhoneDebtor, bodies

HARDSHIP_JOURNEYS = {
    "fr": {
        "channel": "sms",
        "messages": [
            "Bonjour",
            "{reference}",
            "12/03/1985",
            "J'ai perdu mon emploi le mois dernier et je ne peux pas tout payer d'un coup",
            "je peux payer 30 euros par mois",
            "oui ça me va",
            "oui je confirme",
        ],
        "disclosure": ["assistant automatique", "recouvrement", "Lumière Énergie SA", "STOP"],
        "amount_text": "50,00",
    },
    "en": {
        "channel": "whatsapp",
        "messages": [
            "Hello",
            "my reference is {reference}",
            "04/05/1990",
            "I lost my job last month and I can't pay it all at once",
            "I can pay 30 euros a month",
            "yes that works for me",
            "yes I agree",
        ],
        "disclosure": ["automated assistant", "debt", "Lumière Énergie SA", "STOP"],
        "amount_text": "€50.00",
    },
}


def debtor_for(stack, account: dict, channel: str = "sms") -> PhoneDebtor:
    return PhoneDebtor(stack.twilio_url, stack.database_url, account["phone"], channel)


def queue_directly(stack, conversation_id: str, body: str, status: str = "pending", author: str = "agent") -> None:
    """An outbound row written by another producer (an agent reply, a reminder), as the api's models do."""
    with Session(create_engine(stack.database_url)) as session, session.begin():
        session.add(
            Message(
                conversation_id=conversation_id,
                direction="outbound",
                author=author,
                channel="sms",
                text=body,
                payload={},
                status=status,
            )
        )


def db_rows(stack, sql: str, **params: object) -> list:
    with create_engine(stack.database_url).connect() as db:
        return list(db.execute(text(sql), params))


@pytest.mark.parametrize("language", ["fr", "en"])
def test_hardship_journey_by_phone_ends_in_a_commitment_confirmed_in_writing(stack, creditor, language):
    journey = HARDSHIP_JOURNEYS[language]
    account = new_account(creditor, language)
    debtor = debtor_for(stack, account, journey["channel"])
    turns = [debtor.say(message.format(reference=account["reference"])) for message in journey["messages"]]

    opening, confirmed = bodies(turns[0]), bodies(turns[-1])
    for words in journey["disclosure"]:
        assert words in opening, opening
    assert account["debtor_name"] not in opening and "400" not in opening  # nothing before verification
    assert account["debtor_name"] in bodies(turns[2])
    assert journey["amount_text"] in bodies(turns[4])

    stored = creditor.get(f"/api/v1/accounts/{account['reference']}").json()
    (commitment,) = stored["commitments"]
    amounts = [i["amount_minor"] for i in commitment["instalments"]]
    assert amounts == [5000] * 7 + [3000] and sum(amounts) == commitment["total_minor"] == 38000
    assert "hardship" in {s["kind"] for s in stored["signals"]}
    assert any(c["channel"] == journey["channel"] and c["messages"] >= 14 for c in stored["conversations"])
    (confirmation,) = stored["confirmations"]
    assert confirmation["channel"] == journey["channel"]

    # The written confirmation is a short text with our own short link to the signed PDF.
    (link,) = re.findall(r"http://\S+/l/[\w-]+", confirmed)
    assert "](" not in confirmed
    page = httpx.get(link, follow_redirects=True, timeout=30)
    assert page.status_code == 200 and account["debtor_name"] not in page.text  # the date of birth first
    document = httpx.post(str(page.url), data={"date_of_birth": account["date_of_birth"]}, timeout=30)
    assert document.status_code == 200 and document.headers["content-type"] == "application/pdf"
    content = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(document.content)).pages)
    assert account["reference"] in content and confirmation["number"] in content

    sent = [m for turn in turns for m in turn]
    segments = [int(m["num_segments"]) for m in sent]
    assert all(m["from"] == ("whatsapp:+33700000002" if journey["channel"] == "whatsapp" else "+33700000001") for m in sent)
    if journey["channel"] == "sms":
        # Rendered for SMS: GSM-7 only (accents outside GSM-7 are transliterated), one or two segments a reply.
        assert {m["encoding"] for m in sent} == {"GSM-7"}
        assert max(segments) <= 3 and statistics.median(segments) <= 2, segments
    rows = db_rows(
        stack,
        "select status, segments from messages where conversation_id = :c and direction = 'outbound'",
        c=debtor.conversation_id(),
    )
    assert len(rows) == len(sent) and {r.status for r in rows} <= {"sent", "delivered"}


def test_buttons_become_numbered_options_answered_by_number(stack, creditor):
    account = new_account(creditor, "fr")
    debtor = debtor_for(stack, account)
    for message in ("Bonjour", account["reference"]):
        debtor.say(message)
    presented = bodies(debtor.say("12/03/1985"))
    options = re.findall(r"^(\d)\. (.+)$", presented, flags=re.MULTILINE)
    assert options and "numéro" in presented, presented
    # Answering with the number of an option is understood as that option.
    number = next(n for n, title in options if "plusieurs" in title.lower() or "échéancier" in title.lower())
    answered = bodies(debtor.say(number))
    assert answered and "comprends pas" not in answered.lower()


def test_a_retried_delivery_is_answered_once(stack, creditor):
    account = new_account(creditor, "en")
    debtor = debtor_for(stack, account)
    first = debtor.send("Hello")
    debtor.wait_settled(first["message_sid"])
    replies = debtor.new_messages()
    again = debtor.send("Hello", message_sid=first["message_sid"])  # Twilio retries the same MessageSid
    assert again["status_code"] == 200
    time.sleep(2)
    assert replies and debtor.new_messages() == []
    assert len(db_rows(stack, "select id from messages where channel_message_id = :s", s=first["message_sid"])) == 1


@pytest.mark.parametrize(
    ("language", "stop", "confirmation", "start_confirmation"),
    [("fr", "ARRET", "ne vous écrira plus", "de nouveau"), ("en", "STOP", "will not write", "may write")],
)
def test_stop_start_by_sms(stack, creditor, language, stop, confirmation, start_confirmation):
    account = new_account(creditor, language)
    debtor = debtor_for(stack, account)
    debtor.say("Bonjour" if language == "fr" else "Hello")
    (confirmed,) = debtor.say(stop)
    assert confirmation in confirmed["body"] and "STOP" not in confirmed["body"].split(".")[0]
    assert debtor.say(stop) == []  # confirmed once only
    assert debtor.say("Bonjour, je voudrais payer" if language == "fr" else "Hello, I want to pay") == []
    consents = db_rows(stack, "select kind from consents where channel_address = :a", a=account["phone"])
    assert [c.kind for c in consents] == ["opt_out"]
    (resumed,) = debtor.say("START")
    assert start_confirmation in resumed["body"]
    assert debtor.say("Bonjour" if language == "fr" else "Hello")  # the bot answers again
    consents = db_rows(stack, "select kind from consents where channel_address = :a", a=account["phone"])
    assert [c.kind for c in consents] == ["opt_out", "opt_in"]


@pytest.mark.parametrize(
    ("keyword", "words"),
    [("AIDE", ["conseiller", "STOP", "Lumière Énergie SA"]), ("HELP", ["AGENT", "STOP", "Lumière Énergie SA"])],
)
def test_help_keyword(stack, creditor, keyword, words):
    account = new_account(creditor, "fr" if keyword == "AIDE" else "en")
    debtor = debtor_for(stack, account)
    (help_text,) = debtor.say(keyword)
    for word in words:
        assert word in help_text["body"]
    assert int(help_text["num_segments"]) <= 2


def test_the_outbox_retries_after_a_twilio_error_and_sends_once(stack, creditor):
    account = new_account(creditor, "en")
    debtor = debtor_for(stack, account)
    httpx.post(f"{stack.twilio_url}/_fake/failures", json={"count": 1, "status": 500}, timeout=10).raise_for_status()
    replies = debtor.say("Hello")
    assert len(replies) == len({m["body"] for m in replies}) >= 1  # each reply exactly once
    rows = db_rows(
        stack,
        "select attempts, status from messages where conversation_id = :c and direction = 'outbound' order by id",
        c=debtor.conversation_id(),
    )
    assert rows[0].attempts == 2 and all(r.status in ("sent", "delivered") for r in rows)


def test_delivery_reports_update_the_outbox_and_failures_show_on_the_account(stack, creditor):
    account = new_account(creditor, "en")
    httpx.post(
        f"{stack.twilio_url}/_fake/undeliverable", json={"to": account["phone"], "status": "undelivered"}, timeout=10
    ).raise_for_status()
    debtor = debtor_for(stack, account)
    debtor.say("Hello")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        failures = creditor.get(f"/api/v1/accounts/{account['reference']}").json()["delivery_failures"]
        if failures:
            break
        time.sleep(0.2)
    assert failures and {f["status"] for f in failures} == {"undelivered"}
    assert all("30003" in (f["error"] or "") for f in failures)


def test_nothing_is_sent_to_an_opted_out_number_by_any_path(stack, creditor):
    """A row queued for an opted-out number by any producer (an agent, a reminder) is blocked at send time."""
    account = new_account(creditor, "en")
    debtor = debtor_for(stack, account)
    debtor.say("Hello")
    debtor.say("STOP")
    conversation_id = debtor.conversation_id()
    queue_directly(stack, conversation_id, "A reminder about your balance")
    deadline = time.monotonic() + 20
    # 'sending' is the outbox's claim on the row, before it decides: wait for the decision.
    in_flight = "select 1 from messages where conversation_id = :c and status in ('pending', 'sending')"
    while db_rows(stack, in_flight, c=conversation_id):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    (row,) = db_rows(stack, "select status, error from messages where text = 'A reminder about your balance'")
    assert (row.status, row.error) == ("blocked", "opted_out")
    assert debtor.new_messages() == []


def test_an_sms_that_arrives_while_rasa_is_down_is_answered_once_rasa_is_back(stack, creditor):
    account = new_account(creditor, "fr")
    debtor = debtor_for(stack, account)
    stack.service("rasa").stop()
    try:
        report = debtor.send("Bonjour, je voudrais régler ma facture")
        assert report["status_code"] == 200
        deadline = time.monotonic() + 30
        held = []
        while not held and time.monotonic() < deadline:
            held = debtor.new_messages()
            time.sleep(0.2)
        assert len(held) == 1 and "enregistré" in held[0]["body"]  # one short holding reply
        (row,) = db_rows(stack, "select status, error from messages where channel_message_id = :s", s=report["message_sid"])
        assert (row.status, row.error) == ("received", "rasa_unavailable")
    finally:
        stack.restart("rasa")
    debtor.wait_settled(report["message_sid"], timeout=60)
    answered = bodies(debtor.new_messages())
    assert "assistant automatique" in answered  # the disclosure, then the answer
    (row,) = db_rows(stack, "select status from messages where channel_message_id = :s", s=report["message_sid"])
    assert row.status == "processed"


def test_unsent_outbox_rows_are_sent_after_the_api_restarts(stack, creditor):
    account = new_account(creditor, "fr")
    debtor = debtor_for(stack, account)
    debtor.say("Bonjour")
    conversation_id = debtor.conversation_id()
    stack.service("api").stop()
    try:
        for status in ("pending", "sending"):  # queued, and caught in the middle of a send
            queue_directly(stack, conversation_id, f"Message left {status}", status=status, author="bot")
    finally:
        stack.restart("api")
    deadline = time.monotonic() + 30
    received: list[str] = []
    while len(received) < 2 and time.monotonic() < deadline:
        received += [m["body"] for m in debtor.new_messages()]
        time.sleep(0.2)
    assert sorted(received) == ["Message left pending", "Message left sending"]
