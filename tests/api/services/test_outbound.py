"""The one writer of outbound messages (api/services/outbound.py): its rules, its rendering, and the proof
that every kind of message to a debtor is written by it."""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from api.core.config import get_settings
from api.db import session_scope
from api.models import Consent, Conversation, Message, utcnow
from api.services import errors, outbound, sms_text
from api.services.outbound import Outbound, blocked_reason, write
from api.services.router import find_or_create_conversation

DEBTOR = "+33612345678"  # Marie Dupont's number in the demo data
REPO = Path(__file__).resolve().parents[3]


def _whatsapp_conversation(last_inbound_hours_ago: float) -> str:
    conversation_id = find_or_create_conversation("whatsapp", DEBTOR)
    with session_scope() as session:
        session.add(
            Message(
                conversation_id=conversation_id,
                direction="inbound",
                author="debtor",
                channel="whatsapp",
                text="Hello",
                status="processed",
                created_at=utcnow() - dt.timedelta(hours=last_inbound_hours_ago),
            )
        )
    return conversation_id


def test_whatsapp_free_text_is_refused_outside_the_24_hour_window(database):
    settings = get_settings()
    conversation_id = _whatsapp_conversation(last_inbound_hours_ago=25)
    with session_scope() as session:
        conversation = session.get(Conversation, conversation_id)
        with pytest.raises(errors.OutsideWhatsAppWindow):
            write(session, settings, conversation, Outbound(text="Bonjour", author="agent"))
        template = write(
            session,
            settings,
            conversation,
            Outbound(text="", author="agent", template="reopen_conversation", variables={"1": "Marie"}),
        )
        assert template.payload["content_sid"] == settings.whatsapp_templates["reopen_conversation"]
        with pytest.raises(errors.UnknownTemplate):
            write(session, settings, conversation, Outbound(text="", author="agent", template="no_such_template"))
        # A free-text row queued by another path is stopped when it would leave.
        free = Message(
            conversation_id=conversation_id,
            direction="outbound",
            author="agent",
            channel="whatsapp",
            text="Bonjour",
            payload={},
            status="pending",
        )
        session.add(free)
        session.flush()
        assert blocked_reason(session, settings, free, conversation) == "outside_whatsapp_window"
        assert blocked_reason(session, settings, template, conversation) is None


def test_whatsapp_free_text_is_allowed_inside_the_window(database):
    settings = get_settings()
    conversation_id = _whatsapp_conversation(last_inbound_hours_ago=23)
    with session_scope() as session:
        conversation = session.get(Conversation, conversation_id)
        message = write(session, settings, conversation, Outbound(text="Bonjour", author="agent"))
        assert blocked_reason(session, settings, message, conversation) is None


def test_nothing_can_be_queued_for_an_opted_out_number_except_the_confirmation(database):
    settings = get_settings()
    conversation_id = find_or_create_conversation("sms", DEBTOR)
    with session_scope() as session:
        conversation = session.get(Conversation, conversation_id)
        session.add(Consent(conversation_id=conversation_id, channel="sms", channel_address=DEBTOR, kind="opt_out"))
        session.flush()
        with pytest.raises(errors.OptedOut):
            write(session, settings, conversation, Outbound(text="Un rappel", author="agent"))
        confirmation = write(
            session, settings, conversation, Outbound(text="C'est noté", author="system", kind="opt_out_confirmation")
        )
        assert blocked_reason(session, settings, confirmation, conversation) is None


def test_sms_replies_are_rendered_for_the_phone(client):
    """Numbered options for buttons, GSM-7 only, and our own long links shortened."""
    settings = get_settings()
    conversation_id = find_or_create_conversation("sms", DEBTOR)
    link = f"{settings.base_url}/documents/abc.pdf?token=" + "t" * 120
    with session_scope() as session:
        conversation = session.get(Conversation, conversation_id)
        conversation.language = "fr"
        reply = write(
            session,
            settings,
            conversation,
            Outbound(
                text=f"Voilà « votre » plan : {link}",
                author="bot",
                buttons=[{"title": "Oui", "payload": "/affirm"}],
                in_reply_to=0,
            ),
        )
        assert "1. Oui" in reply.text and "numéro" in reply.text
        assert "token=" not in reply.text and f"{settings.base_url}/l/" in reply.text
        assert reply.encoding == "GSM-7" and reply.segments == sms_text.segment_info(reply.text).segments
        assert "«" not in reply.text
    code = reply.text.split("/l/")[1].split()[0]
    followed = client.get(f"/l/{code}", follow_redirects=False)
    assert followed.status_code == 302 and followed.headers["location"] == link
    assert client.get("/l/unknown", follow_redirects=False).status_code == 404


def test_outbound_rows_are_created_in_one_function_only():
    constructor = re.compile(r"Message\((?:[^()]|\([^()]*\))*?direction=(?:\"outbound\"|Direction\.OUTBOUND)", re.DOTALL)
    places = [
        path.relative_to(REPO).as_posix()
        for folder in ("api", "channels")
        for path in sorted((REPO / folder).rglob("*.py"))
        for _ in constructor.finditer(path.read_text(encoding="utf-8"))
    ]
    assert places == ["api/services/outbound.py"]
    assert constructor.search(inspect.getsource(outbound.write))


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[object] = []

    def send(self, message):
        self.sent.append(message)
        raise AssertionError("nothing may be sent to a number that opted out")


def test_every_kind_of_message_goes_through_the_writer_and_nothing_reaches_an_opted_out_number(database, monkeypatch):
    import httpx

    from api.services import agent_desk
    from api.services.outbox import Outbox
    from api.services.router import ConversationRouter
    from api.services.transport import Transports

    written: list[tuple[str, str | None]] = []
    real_write = outbound.write

    def spy(session, settings, conversation, message):
        written.append((message.author, message.kind))
        return real_write(session, settings, conversation, message)

    monkeypatch.setattr(outbound, "write", spy)
    settings = get_settings()
    conversation_id = find_or_create_conversation("sms", DEBTOR)
    with session_scope() as session:
        session.get(Conversation, conversation_id).opened_at = utcnow()
        session.add(Consent(conversation_id=conversation_id, channel="sms", channel_address=DEBTOR, kind="opt_out"))

    async def rasa(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[{"text": "Bonjour, que puis-je faire pour vous ?"}])

    async def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Rasa is down")

    async def turns() -> None:
        for handler in (rasa, down):  # a bot reply, then the holding reply while Rasa is away
            router = ConversationRouter(settings, httpx.AsyncClient(transport=httpx.MockTransport(handler)), Transports())
            await router.handle_inbound(conversation_id, "Bonjour")

    asyncio.run(turns())
    with session_scope() as session:
        conversation = session.get(Conversation, conversation_id)
        for kind in (None, "confirmation"):  # an agent's reply, a written confirmation
            with pytest.raises(errors.OptedOut):
                agent_desk.send_to_debtor(
                    session, settings, conversation, "Bonjour", author="agent", transports=Transports(), kind=kind
                )

    sender = RecordingSender()
    Outbox(settings, sender).send_due()
    assert written == [("bot", None), ("system", None), ("agent", None), ("agent", "confirmation")]
    assert sender.sent == []
    with session_scope() as session:
        rows = session.scalars(select(Message).where(Message.conversation_id == conversation_id, Message.direction == "outbound"))
        assert [(m.author, m.status, m.error) for m in rows] == [
            ("bot", "blocked", "opted_out"),
            ("system", "blocked", "opted_out"),
        ]
