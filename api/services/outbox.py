"""The outbox: sends the pending SMS and WhatsApp rows, with retries and delivery statuses.

Rows are written by `api/services/outbound.py` (the one writer) with status `pending`. `Outbox.run` sends
what is due through the `PhoneSender` the api injects at start-up (Twilio's, in `channels/twilio`),
retries transient failures (HTTP 429, 5xx, network errors) with exponential backoff, marks permanent ones
`failed`; delivery reports move a sent message to `delivered`, `undelivered` or `failed`. Rows left
`pending` when the api stopped are sent after restart. The outbound rules are checked again as a message
leaves (`outbound.blocked_reason`), whatever queued it.

Sent once: a row is claimed before it is sent (two processes never send the same one). When a send may
have reached the provider without our knowing (a timeout after the request left, a stop in the middle of a
send), the row is marked `maybe sent`, and before it is sent again the provider's own list of messages to
that number since the first claim is searched for it (`PhoneSender.find_sent`): found, it is recorded as
sent under the provider's id; not found, it is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from anyio import to_thread
from sqlalchemy import select, update

from api.core.config import Settings
from api.core.logging import log
from api.db import rows_changed, session_scope
from api.models import Conversation, Message, utcnow
from api.services import reviews
from api.services.outbound import blocked_reason
from api.services.transport import Reply
from api.states import ContactKind, Direction, MessageStatus

# Delivery reports' vocabulary (Twilio's) -> ours; a later status never goes back to an earlier one.
CALLBACK_STATUS = {
    "accepted": "sent",
    "scheduled": "sent",
    "queued": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
}
STATUS_RANK = {"pending": 0, "sending": 1, "sent": 2, "delivered": 3, "undelivered": 3, "failed": 3, "blocked": 3}


@dataclass(frozen=True)
class PhoneMessage:
    """One row as a phone transport needs it."""

    channel: str
    to: str  # E.164 number
    body: str
    content_sid: str | None = None
    variables: dict[str, str] | None = None


@dataclass(frozen=True)
class Sent:
    sid: str
    segments: int | None = None


class SendFailed(Exception):
    """The transport could not send; `transient` failures are retried. `maybe_sent`: the request may have
    reached the provider (a timeout after it left), so the provider is asked before sending again."""

    def __init__(self, detail: str, *, transient: bool, maybe_sent: bool = False) -> None:
        super().__init__(detail)
        self.detail, self.transient, self.maybe_sent = detail, transient, maybe_sent


class PhoneSender(Protocol):
    def send(self, message: PhoneMessage) -> Sent: ...

    def find_sent(self, message: PhoneMessage, since: dt.datetime) -> Sent | None:
        """The provider's record of this message, created since `since`, if it has one."""
        ...


# The error of a row whose last send may have reached the provider.
MAYBE_SENT = "maybe sent: "


class Outbox:
    """The phone transport of the services: delivering means waking the loop that sends pending rows."""

    def __init__(self, settings: Settings, sender: PhoneSender) -> None:
        self.settings = settings
        self.sender = sender
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def deliver(self, _conversation_id: str, _channel: str, _address: str, _replies: list[Reply]) -> None:
        """Replies are already rows in the outbox; send them now."""
        self.wake()

    async def run(self, poll_seconds: float = 1.0) -> None:
        await to_thread.run_sync(self.recover_interrupted)
        while True:
            try:
                await to_thread.run_sync(self.send_due)
            except Exception:  # noqa: BLE001 - the loop must survive a bad pass; the error is logged
                log.exception("outbox_pass_failed")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=poll_seconds)
            self._wake.clear()

    def recover_interrupted(self) -> int:
        """Messages caught mid-send by a stop go back to `pending`, marked `maybe sent`: the provider is asked
        for them before they are sent again."""
        with session_scope() as session:
            return rows_changed(
                session,
                update(Message)
                .where(Message.status == MessageStatus.SENDING)
                .values(status=MessageStatus.PENDING, error=MAYBE_SENT + "interrupted"),
            )

    def due(self) -> list[int]:
        now = utcnow()
        with session_scope() as session:
            return list(
                session.scalars(
                    select(Message.id)
                    .where(Message.direction == Direction.OUTBOUND, Message.status == MessageStatus.PENDING)
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
            claimed = rows_changed(
                session,
                update(Message)
                .where(Message.id == message_id, Message.status == MessageStatus.PENDING)
                .values(status=MessageStatus.SENDING),
            )
        if claimed != 1:
            return "not_due"
        with session_scope() as session:
            message = session.get_one(Message, message_id)
            message.claimed_at = message.claimed_at or utcnow()
            since, maybe_sent = message.claimed_at, (message.error or "").startswith(MAYBE_SENT)
            conversation = session.get_one(Conversation, message.conversation_id)
            channel = conversation.channel
            reason = blocked_reason(session, self.settings, message, conversation)
            if reason and not maybe_sent:
                message.status, message.error = "blocked", reason
                log.info("outbound_blocked", message_id=message_id, reason=reason, channel=conversation.channel)
                return "blocked"
            outgoing = self._phone_message(message, conversation)
        try:
            sent = self.sender.find_sent(outgoing, since) if maybe_sent else None
            if sent is not None:
                log.info("outbound_found_at_provider", message_id=message_id)
            elif reason:  # it did not leave, and may not leave any more
                return self._blocked(message_id, reason, channel)
            else:
                sent = self.sender.send(outgoing)
        except SendFailed as exc:
            return self._failed(message_id, exc.detail[:380], exc.transient, maybe_sent=exc.maybe_sent or maybe_sent)
        with session_scope() as session:
            message = session.get_one(Message, message_id)
            message.status, message.error = "sent", None
            message.attempts += 1
            message.channel_message_id = sent.sid
            message.sent_at = utcnow()
            if sent.segments is not None:
                message.segments = sent.segments
            attempts = message.attempts
            if (message.payload or {}).get("kind") == f"contact_{ContactKind.DISPUTE_ANSWER}":
                reviews.answer_left(session, message, message.sent_at)  # collection may resume now
        log.info("outbound_sent", message_id=message_id, attempts=attempts)
        return "sent"

    @staticmethod
    def _phone_message(message: Message, conversation: Conversation) -> PhoneMessage:
        payload = message.payload or {}
        return PhoneMessage(
            channel=conversation.channel,
            to=conversation.channel_address,
            body=message.text,
            content_sid=payload.get("content_sid"),
            variables=payload.get("variables") or None,
        )

    def _blocked(self, message_id: int, reason: str, channel: str) -> str:
        with session_scope() as session:
            message = session.get_one(Message, message_id)
            message.status, message.error = "blocked", reason
        log.info("outbound_blocked", message_id=message_id, reason=reason, channel=channel)
        return "blocked"

    def _failed(self, message_id: int, error: str, transient: bool, *, maybe_sent: bool = False) -> str:
        with session_scope() as session:
            message = session.get_one(Message, message_id)
            message.attempts += 1
            message.error = MAYBE_SENT + error if maybe_sent else error
            if transient and message.attempts < self.settings.outbox_max_attempts:
                delay = self.settings.outbox_retry_seconds * 2 ** (message.attempts - 1)
                message.status, message.next_attempt_at = "pending", utcnow() + dt.timedelta(seconds=delay)
                log.warning("outbound_retry", message_id=message_id, attempts=message.attempts, delay=delay)
                return "retry"
            message.status = MessageStatus.FAILED
            log.error("outbound_failed", message_id=message_id, attempts=message.attempts)
            return "failed"


def apply_status_callback(message_sid: str, status: str, error_code: str | None) -> bool:
    """Twilio's delivery report for one of our messages; False when the message is not ours."""
    ours = CALLBACK_STATUS.get(status)
    with session_scope() as session:
        message = session.scalar(
            select(Message).where(Message.channel_message_id == message_sid, Message.direction == Direction.OUTBOUND)
        )
        if message is None:
            return False
        if ours and STATUS_RANK.get(ours, 0) > STATUS_RANK.get(message.status, 0):
            message.status = ours
            if ours in ("undelivered", "failed"):
                message.error = f"twilio error {error_code}" if error_code else f"twilio {status}"
        return True
