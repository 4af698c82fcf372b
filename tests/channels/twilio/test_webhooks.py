"""The Twilio doors refuse what Twilio did not send, and the outbox obeys the phone-messaging rules.

Requests are signed as Twilio signs them (`RequestValidator.compute_signature` over the public URL and the
form fields). A refused request must leave nothing behind: no message stored, nothing queued to send.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from api.core.config import get_settings
from api.db import session_scope
from api.models import Conversation, Message
from api.services.router import find_or_create_conversation
from channels.twilio.sender import our_number

BASE = "http://testserver"
DEBTOR = "+33612345678"  # Marie Dupont's number in the demo data


def form(channel: str = "sms", **overrides: str) -> dict[str, str]:
    settings = get_settings()
    prefix = "whatsapp:" if channel == "whatsapp" else ""
    fields = {
        "MessageSid": f"SM{uuid.uuid4().hex}",
        "AccountSid": settings.twilio_account_sid,
        "From": f"{prefix}{DEBTOR}",
        "To": f"{prefix}{our_number(settings, channel)}",
        "Body": "Bonjour",
        "NumMedia": "0",
        "ApiVersion": "2010-04-01",
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def sign(url: str, fields: dict[str, str], token: str | None = None) -> str:
    return RequestValidator(token or get_settings().twilio_auth_token).compute_signature(url, fields)


def post(client, path: str, fields: dict[str, str], signature: str | None = "auto", **kwargs):  # noqa: ANN001, ANN201
    headers = kwargs.pop("headers", {})
    if signature == "auto":
        signature = sign(BASE + path, fields)
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    return client.post(path, data=fields, headers=headers, **kwargs)


def stored_messages() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Message))


def test_a_signed_sms_is_stored_and_answered_with_empty_twiml(client):
    fields = form()
    response = post(client, "/channels/twilio/sms", fields)
    assert response.status_code == 200 and "<Response></Response>" in response.text
    with session_scope() as session:
        message = session.scalar(select(Message).where(Message.channel_message_id == fields["MessageSid"]))
        conversation = session.get(Conversation, message.conversation_id)
        assert (message.direction, message.channel, message.text) == ("inbound", "sms", "Bonjour")
        # The number is on exactly one account: its creditor and language, but nothing verified.
        assert conversation.candidate_account_id is not None and conversation.account_id is None
        assert conversation.verified_at is None and conversation.language == "fr"


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("missing signature", 403),
        ("wrong signature", 403),
        ("signed with another token", 403),
        ("signed for another url", 403),
        ("signed for the whatsapp door", 403),
        ("wrong account", 403),
        ("unknown to number", 404),
        ("malformed message sid", 400),
        ("from not a phone number", 400),
        ("whatsapp address on the sms door", 400),
        ("missing body", 400),
        ("num media not a number", 400),
        ("body longer than any sms", 413),
        ("oversized request", 413),
    ],
)
def test_what_twilio_did_not_send_is_refused_and_leaves_nothing(client, case, status):
    path, fields, signature = "/channels/twilio/sms", form(), "auto"
    if case == "missing signature":
        signature = None
    elif case == "wrong signature":
        signature = "bm90IGEgc2lnbmF0dXJl"
    elif case == "signed with another token":
        signature = sign(BASE + path, fields, token="someone-elses-token")
    elif case == "signed for another url":
        signature = sign("http://attacker.example/channels/twilio/sms", fields)
    elif case == "signed for the whatsapp door":
        signature = sign(BASE + "/channels/twilio/whatsapp", fields)
    elif case == "wrong account":
        fields["AccountSid"] = "AC" + "1" * 32
    elif case == "unknown to number":
        fields["To"] = "+33799999999"
    elif case == "malformed message sid":
        fields["MessageSid"] = "SM-not-a-sid"
    elif case == "from not a phone number":
        fields["From"] = "Marie"
    elif case == "whatsapp address on the sms door":
        fields["From"] = f"whatsapp:{DEBTOR}"
    elif case == "missing body":
        del fields["Body"]
    elif case == "num media not a number":
        fields["NumMedia"] = "two"
    elif case == "body longer than any sms":
        fields["Body"] = "x" * 1601
    elif case == "oversized request":
        fields["Body"] = "x" * (get_settings().twilio_max_request_bytes + 1)
    response = post(client, path, fields, signature)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert stored_messages() == 0


def test_a_request_that_is_not_form_encoded_is_refused(client):
    response = client.post("/channels/twilio/sms", json=form(), headers={"X-Twilio-Signature": "x"})
    assert response.status_code == 415 and stored_messages() == 0


def test_a_replayed_message_sid_is_answered_without_being_processed_twice(client):
    fields = form()
    first = post(client, "/channels/twilio/sms", fields)
    again = post(client, "/channels/twilio/sms", fields)
    assert first.status_code == again.status_code == 200
    with session_scope() as session:
        inbound = session.scalars(select(Message).where(Message.direction == "inbound")).all()
    assert [m.channel_message_id for m in inbound] == [fields["MessageSid"]]


def test_the_signature_check_holds_behind_a_proxy(client):
    """Twilio signs the public URL; the api may be reached under another host: the public one counts."""
    fields = form()
    response = post(client, "/channels/twilio/sms", fields, headers={"Host": "10.0.0.7:8000"})
    assert response.status_code == 200


def test_unsigned_webhooks_need_the_explicit_development_setting(client, monkeypatch):
    monkeypatch.setenv("TWILIO_VALIDATE_SIGNATURES", "false")
    get_settings.cache_clear()
    assert post(client, "/channels/twilio/sms", form(), signature=None).status_code == 200


def _sent_message(sid: str) -> int:
    conversation_id = find_or_create_conversation("sms", DEBTOR)
    with session_scope() as session:
        message = Message(
            conversation_id=conversation_id,
            direction="outbound",
            author="bot",
            channel="sms",
            text="Bonjour",
            payload={},
            status="sent",
            channel_message_id=sid,
        )
        session.add(message)
        session.flush()
        return message.id


def status_form(sid: str, status: str, **extra: str) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": get_settings().twilio_account_sid,
        "MessageStatus": status,
        "SmsStatus": status,
        **extra,
    }


def test_delivery_reports_move_a_message_forward_never_back(client):
    sid = f"SM{uuid.uuid4().hex}"
    message_id = _sent_message(sid)
    assert post(client, "/channels/twilio/status", status_form(sid, "delivered")).status_code == 204
    assert post(client, "/channels/twilio/status", status_form(sid, "sent")).status_code == 204  # late, out of order
    with session_scope() as session:
        assert session.get(Message, message_id).status == "delivered"


def test_an_undelivered_report_keeps_twilios_error_code(client):
    sid = f"SM{uuid.uuid4().hex}"
    message_id = _sent_message(sid)
    post(client, "/channels/twilio/status", status_form(sid, "undelivered", ErrorCode="30003"))
    with session_scope() as session:
        message = session.get(Message, message_id)
        assert (message.status, message.error) == ("undelivered", "twilio error 30003")


def test_delivery_reports_are_signed_and_about_our_messages(client):
    sid = f"SM{uuid.uuid4().hex}"
    _sent_message(sid)
    assert post(client, "/channels/twilio/status", status_form(sid, "delivered"), signature="forged").status_code == 403
    assert post(client, "/channels/twilio/status", status_form(f"SM{uuid.uuid4().hex}", "delivered")).status_code == 404


def test_a_long_whatsapp_message_is_kept_and_the_debtor_asked_to_shorten_it(client):
    fields = form(channel="whatsapp", Body="é" * 3000)
    assert post(client, "/channels/twilio/whatsapp", fields).status_code == 200
    with session_scope() as session:
        inbound = session.scalar(select(Message).where(Message.channel_message_id == fields["MessageSid"]))
        assert (inbound.status, inbound.error, inbound.payload) == ("rejected", "too_long", {"original_chars": 3000})
        reply = session.scalar(
            select(Message).where(Message.direction == "outbound", Message.conversation_id == inbound.conversation_id)
        )
        assert str(get_settings().max_message_chars) in reply.text


def test_a_flood_from_one_number_is_refused_with_429_and_stores_at_most_the_limit(client):
    """Bounded: 20 messages a minute per number (INBOUND_MESSAGES_PER_SENDER_PER_MINUTE); the rest is refused
    before anything is stored (Twilio may deliver it again later)."""
    import tracemalloc

    limit = get_settings().inbound_messages_per_sender_per_minute
    before = stored_messages()
    tracemalloc.start()
    statuses = [post(client, "/channels/twilio/sms", form(Body=f"message {n}")).status_code for n in range(limit + 30)]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert statuses.count(200) == limit and statuses[limit:] == [429] * 30
    print(
        f"flood of {limit + 30} SMS: {stored_messages() - before} rows stored (the {limit} messages let in and their replies), peak traced memory {peak / 1e6:.1f} MB"
    )
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Message).where(Message.direction == "inbound")) == limit
    # Another number is not held back by this one.
    assert post(client, "/channels/twilio/sms", form(From="+33611112222")).status_code == 200
