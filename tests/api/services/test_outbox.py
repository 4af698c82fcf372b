"""The outbox sends each message once: a send that may have reached the provider (a timeout after the request
left, a stop in the middle of a send) is looked for at the provider before it is sent again."""

from __future__ import annotations

import datetime as dt

import pytest

from api.core.config import get_settings
from api.db import session_scope
from api.models import Conversation, Message, utcnow
from api.services import outbound
from api.services.outbox import Outbox, PhoneMessage, SendFailed, Sent
from api.services.router import find_or_create_conversation
from api.states import Author

DEBTOR = "+33612345678"


class Provider:
    """A provider that keeps what it accepted; `lose` acceptances answer with a timeout instead."""

    def __init__(self) -> None:
        self.accepted: list[tuple[PhoneMessage, dt.datetime, str]] = []
        self.lose = 0
        self.sends = 0

    def send(self, message: PhoneMessage) -> Sent:
        self.sends += 1
        sid = f"SM{len(self.accepted):032d}"
        self.accepted.append((message, utcnow(), sid))
        if self.lose:
            self.lose -= 1
            raise SendFailed("network: ReadTimeout", transient=True, maybe_sent=True)
        return Sent(sid=sid, segments=1)

    def find_sent(self, message: PhoneMessage, since: dt.datetime) -> Sent | None:
        for accepted, at, sid in reversed(self.accepted):
            if accepted.to == message.to and accepted.body == message.body and at >= since - dt.timedelta(minutes=1):
                return Sent(sid=sid, segments=1)
        return None


@pytest.fixture
def queued(database) -> int:
    conversation_id = find_or_create_conversation("sms", DEBTOR)
    with session_scope() as session:
        conversation = session.get_one(Conversation, conversation_id)
        conversation.opened_at = utcnow()
        row = outbound.write(session, get_settings(), conversation, outbound.Outbound(text="Votre échéance", author=Author.BOT))
        session.flush()
        return row.id


def send_all_due(outbox: Outbox) -> None:
    with session_scope() as session:  # what waits for its retry is due now (the clock moves on)
        session.query(Message).filter(Message.status == "pending").update({"next_attempt_at": None})
    outbox.send_due()


def row(message_id: int) -> Message:
    with session_scope() as session:
        message = session.get_one(Message, message_id)
        session.expunge(message)
        return message


def test_a_send_that_timed_out_after_the_provider_took_it_is_not_sent_again(queued):
    provider = Provider()
    provider.lose = 1
    outbox = Outbox(get_settings(), provider)
    assert outbox.send_one(queued) == "retry"
    assert row(queued).error.startswith("maybe sent")
    send_all_due(outbox)
    sent = row(queued)
    assert (sent.status, sent.channel_message_id, provider.sends) == ("sent", provider.accepted[0][2], 1)


def test_a_message_caught_mid_send_by_a_stop_is_found_at_the_provider_after_restart(queued):
    provider = Provider()
    outbox = Outbox(get_settings(), provider)
    with session_scope() as session:  # the api stopped after the provider took it, before it was recorded
        message = session.get_one(Message, queued)
        message.status, message.claimed_at = "sending", utcnow()
    provider.send(PhoneMessage(channel="sms", to=DEBTOR, body="Votre échéance"))
    assert outbox.recover_interrupted() == 1
    send_all_due(outbox)
    assert (row(queued).status, provider.sends) == ("sent", 1)


def test_a_message_the_provider_never_got_is_sent_once(queued):
    provider = Provider()
    outbox = Outbox(get_settings(), provider)
    with session_scope() as session:
        message = session.get_one(Message, queued)
        message.status, message.claimed_at = "sending", utcnow()
    outbox.recover_interrupted()
    send_all_due(outbox)
    send_all_due(outbox)
    assert (row(queued).status, provider.sends) == ("sent", 1)
