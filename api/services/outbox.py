"""One outbound path for SMS and WhatsApp: a row first, then Twilio, with retries and delivery statuses.

Every outbound phone message (bot replies, compliance confirmations, and later agent replies and
reminders) is a `messages` row with status `pending` before anything is sent. `Outbox.run` sends what is
due through the official Twilio library, retries transient failures (HTTP 429, 5xx, network errors) with
exponential backoff, marks permanent ones `failed`, and Twilio's status callbacks move a sent message to
`delivered`, `undelivered` or `failed`. Rows left `pending` when the api stopped are sent after restart.

The rules are checked again when a message leaves, whatever queued it: nothing goes to a number that opted
out (except the single confirmation of that opt-out, and HELP answers), and on WhatsApp free text only goes
inside the session window after the debtor's last message; outside it, only approved templates.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
from typing import Any

import requests
from anyio import to_thread
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from api import i18n
from api.core.config import Settings
from api.core.logging import log
from api.db import session_scope
from api.models import Conversation, Message, ShortLink, utcnow
from api.services import handoffs
from api.services.records import latest_consent
from api.services.errors import DomainError
from channels import sms_text

TWILIO_API = "https://api.twilio.com"
# Messages a debtor who opted out still receives: the one confirmation of the opt-out, answers to HELP.
COMPLIANCE_KINDS = frozenset({"opt_out_confirmation", "help"})
# Twilio's status callback vocabulary -> ours; a later status never goes back to an earlier one.
CALLBACK_STATUS = {
    "accepted": "sent", "scheduled": "sent", "queued": "sent", "sending": "sent", "sent": "sent",
    "delivered": "delivered", "read": "delivered", "undelivered": "undelivered", "failed": "failed",
}
STATUS_RANK = {"pending": 0, "sending": 1, "sent": 2, "delivered": 3, "undelivered": 3, "failed": 3, "blocked": 3}
SHORT_LINK_TTL = dt.timedelta(days=30)


class OptedOut(DomainError):
    """This number asked not to be contacted on this channel: nothing is sent to it."""

    code = "opted_out"


class OutsideWhatsAppWindow(DomainError):
    """WhatsApp allows free text only within 24 hours of the debtor's last message; use a template."""

    code = "outside_whatsapp_window"


class UnknownTemplate(DomainError):
    """No approved WhatsApp template has this name (WHATSAPP_TEMPLATES)."""

    code = "unknown_template"


class RedirectingHttpClient(TwilioHttpClient):
    """The official client's HTTP layer, sending to `base_url` instead of api.twilio.com.

    Points the library at the local fake Twilio in development and tests (nothing reaches Twilio), or at
    an egress proxy; with the default base URL it is the stock client.
    """

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401 - library signature
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API):]
        return super().request(method, url, *args, **kwargs)


def twilio_client(settings: Settings) -> Client:
    return Client(
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        http_client=RedirectingHttpClient(settings.twilio_api_base_url),
    )


def twilio_address(channel: str, number: str) -> str:
    return f"whatsapp:{number}" if channel == "whatsapp" else number


def our_number(settings: Settings, channel: str) -> str:
    return settings.twilio_whatsapp_number if channel == "whatsapp" else settings.twilio_sms_number


# -------------------------------------------------------------------------------------------------------
# Rules
# -------------------------------------------------------------------------------------------------------

def last_inbound_at(session: Session, conversation_id: str) -> dt.datetime | None:
    return session.scalar(
        select(Message.created_at)
        .where(Message.conversation_id == conversation_id, Message.direction == "inbound")
        .order_by(Message.id.desc())
        .limit(1)
    )


def within_whatsapp_window(session: Session, settings: Settings, conversation: Conversation) -> bool:
    last = last_inbound_at(session, conversation.id)
    return last is not None and utcnow() - last < dt.timedelta(hours=settings.whatsapp_session_hours)


def blocked_reason(session: Session, settings: Settings, message: Message, conversation: Conversation) -> str | None:
    """Why this message must not leave, or None."""
    payload = message.payload or {}
    consent = latest_consent(session, conversation.channel, conversation.channel_address)
    if consent is not None and consent.kind == "opt_out" and payload.get("kind") not in COMPLIANCE_KINDS:
        # The bot's reply to the very message that asked to stop is its confirmation: it may leave.
        answered = session.get(Message, payload["in_reply_to"]) if payload.get("in_reply_to") else None
        if answered is None or consent.created_at < answered.created_at:
            return "opted_out"
    if conversation.channel == "whatsapp" and not payload.get("content_sid"):
        if not within_whatsapp_window(session, settings, conversation):
            return "outside_whatsapp_window"
    return None


# -------------------------------------------------------------------------------------------------------
# Queueing
# -------------------------------------------------------------------------------------------------------

def shorten(session: Session, settings: Settings, url: str) -> str:
    """Our own links become `<base>/l/<code>`; links elsewhere are left as they are."""
    if not url.startswith(settings.base_url + "/"):
        return url
    code = secrets.token_urlsafe(6)
    session.add(ShortLink(code=code, target=url, expires_at=utcnow() + SHORT_LINK_TTL))
    return f"{settings.base_url}/l/{code}"


def render_for_phone(
    session: Session, settings: Settings, conversation: Conversation, text: str, buttons: list[dict[str, str]]
) -> str:
    """Numbered options instead of buttons, short links, and on SMS only GSM-7 characters (cheaper)."""
    language = conversation.language or settings.default_language
    rendered = sms_text.render(text, buttons, hint=i18n.t("sms.reply_with_number", language)) if buttons else text
    rendered = sms_text.replace_links(rendered, lambda url: shorten(session, settings, url))
    return sms_text.to_gsm7(rendered) if conversation.channel == "sms" else rendered


def _queue(
    session: Session, conversation: Conversation, text: str, author: str, payload: dict[str, Any]
) -> Message:
    info = sms_text.segment_info(text) if conversation.channel == "sms" else None
    message = Message(
        conversation_id=conversation.id,
        direction="outbound",
        author=author,
        channel=conversation.channel,
        text=text,
        payload=payload,
        status="pending",
        segments=info.segments if info else None,
        encoding=info.encoding if info else None,
    )
    session.add(message)
    session.flush()
    return message


def queue_reply(session: Session, settings: Settings, conversation: Conversation, reply: Any, in_reply_to: int) -> Message:
    """A bot (or system) reply to a debtor's message, rendered for the phone."""
    payload: dict[str, Any] = {"in_reply_to": in_reply_to}
    if reply.buttons:
        payload["buttons"] = reply.buttons
    text = render_for_phone(session, settings, conversation, reply.text, reply.buttons)
    return _queue(session, conversation, text, reply.author, payload)


def queue_text(
    session: Session,
    settings: Settings,
    conversation: Conversation,
    text: str,
    *,
    author: str,
    kind: str | None = None,
    in_reply_to: int | None = None,
) -> Message:
    """Free text we send (agent reply, compliance confirmation): refused now if it could not leave."""
    consent = latest_consent(session, conversation.channel, conversation.channel_address)
    if consent is not None and consent.kind == "opt_out" and kind not in COMPLIANCE_KINDS:
        raise OptedOut()
    if conversation.channel == "whatsapp" and not within_whatsapp_window(session, settings, conversation):
        raise OutsideWhatsAppWindow()
    payload: dict[str, Any] = {"kind": kind} if kind else {}
    if in_reply_to is not None:
        payload["in_reply_to"] = in_reply_to
    return _queue(session, conversation, render_for_phone(session, settings, conversation, text, []), author, payload)


def queue_template(
    session: Session,
    settings: Settings,
    conversation: Conversation,
    template: str,
    variables: dict[str, str],
    *,
    author: str,
) -> Message:
    """An approved WhatsApp template (the only thing allowed outside the 24-hour window)."""
    if template not in settings.whatsapp_templates:
        raise UnknownTemplate()
    consent = latest_consent(session, conversation.channel, conversation.channel_address)
    if consent is not None and consent.kind == "opt_out":
        raise OptedOut()
    payload = {"template": template, "content_sid": settings.whatsapp_templates[template], "variables": variables}
    return _queue(session, conversation, f"[template {template}]", author, payload)


# -------------------------------------------------------------------------------------------------------
# Sending
# -------------------------------------------------------------------------------------------------------

class Outbox:
    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self.settings = settings
        self.client = client or twilio_client(settings)
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def deliver(self, _conversation_id: str, _channel: str, _address: str, _replies: list[Any]) -> None:
        """The router's hook: replies are already rows in the outbox; send them now."""
        self.wake()

    async def run(self, poll_seconds: float = 1.0) -> None:
        await to_thread.run_sync(self.recover_interrupted)
        while True:
            try:
                await to_thread.run_sync(self.send_due)
            except Exception:  # noqa: BLE001 - the loop must survive a bad pass; the error is logged
                log.exception("outbox_pass_failed")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=poll_seconds)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()

    def recover_interrupted(self) -> int:
        """Messages caught mid-send by a stop go back to `pending` (Twilio may, rarely, get them twice)."""
        with session_scope() as session:
            result = session.execute(update(Message).where(Message.status == "sending").values(status="pending"))
            return result.rowcount or 0

    def due(self) -> list[int]:
        now = utcnow()
        with session_scope() as session:
            return list(
                session.scalars(
                    select(Message.id)
                    .where(Message.direction == "outbound", Message.status == "pending")
                    .where((Message.next_attempt_at.is_(None)) | (Message.next_attempt_at <= now))
                    .order_by(Message.id)
                    .limit(100)
                )
            )

    def send_due(self) -> int:
        return sum(1 for message_id in self.due() if self.send_one(message_id) == "sent")

    def send_one(self, message_id: int) -> str:
        with session_scope() as session:
            # Claiming the row first makes two api processes never send the same message.
            claimed = session.execute(
                update(Message).where(Message.id == message_id, Message.status == "pending").values(status="sending")
            ).rowcount
        if claimed != 1:
            return "not_due"
        with session_scope() as session:
            message = session.get(Message, message_id)
            conversation = session.get(Conversation, message.conversation_id)
            reason = blocked_reason(session, self.settings, message, conversation)
            if reason:
                message.status, message.error = "blocked", reason
                log.info("outbound_blocked", message_id=message_id, reason=reason, channel=conversation.channel)
                return "blocked"
            params = self._params(message, conversation)
        try:
            sent = self.client.messages.create(**params)
        except TwilioRestException as exc:
            transient = exc.status == 429 or exc.status >= 500
            return self._failed(message_id, f"twilio {exc.status} {exc.code}: {exc.msg}"[:400], transient)
        except requests.RequestException as exc:
            return self._failed(message_id, f"network: {type(exc).__name__}", transient=True)
        with session_scope() as session:
            message = session.get(Message, message_id)
            message.status, message.error = "sent", None
            message.attempts += 1
            message.channel_message_id = sent.sid
            message.sent_at = utcnow()
            if sent.num_segments and str(sent.num_segments).isdigit():
                message.segments = int(sent.num_segments)
            handoffs.watch_for_console(session, session.get(Conversation, message.conversation_id))
        log.info("outbound_sent", message_id=message_id, attempts=message.attempts)
        return "sent"

    def _params(self, message: Message, conversation: Conversation) -> dict[str, Any]:
        channel = conversation.channel
        params: dict[str, Any] = {
            "to": twilio_address(channel, conversation.channel_address),
            "from_": twilio_address(channel, our_number(self.settings, channel)),
            "status_callback": f"{self.settings.base_url}/channels/twilio/status",
        }
        payload = message.payload or {}
        if payload.get("content_sid"):
            params["content_sid"] = payload["content_sid"]
            if payload.get("variables"):
                params["content_variables"] = json.dumps(payload["variables"])
        else:
            params["body"] = message.text
        return params

    def _failed(self, message_id: int, error: str, transient: bool) -> str:
        with session_scope() as session:
            message = session.get(Message, message_id)
            message.attempts += 1
            message.error = error
            if transient and message.attempts < self.settings.outbox_max_attempts:
                delay = self.settings.outbox_retry_seconds * 2 ** (message.attempts - 1)
                message.status, message.next_attempt_at = "pending", utcnow() + dt.timedelta(seconds=delay)
                log.warning("outbound_retry", message_id=message_id, attempts=message.attempts, delay=delay)
                return "retry"
            message.status = "failed"
            log.error("outbound_failed", message_id=message_id, attempts=message.attempts)
            return "failed"


def apply_status_callback(message_sid: str, status: str, error_code: str | None) -> bool:
    """Twilio's delivery report for one of our messages; False when the message is not ours."""
    ours = CALLBACK_STATUS.get(status)
    with session_scope() as session:
        message = session.scalar(
            select(Message).where(Message.channel_message_id == message_sid, Message.direction == "outbound")
        )
        if message is None:
            return False
        if ours and STATUS_RANK.get(ours, 0) > STATUS_RANK.get(message.status, 0):
            message.status = ours
            if ours in ("undelivered", "failed"):
                message.error = f"twilio error {error_code}" if error_code else f"twilio {status}"
            handoffs.watch_for_console(session, session.get(Conversation, message.conversation_id))
        return True
