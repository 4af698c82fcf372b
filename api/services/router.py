"""Per-conversation routing of debtor messages: store first, then hand to the bot (or, later, an agent).

Every channel adapter calls `ConversationRouter.handle_inbound`; it never loses a message: the inbound row
is committed before Rasa is called, and a failure leaves it `received` with the error for a later retry.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx
from anyio import to_thread

from api import i18n
from api.core.config import Settings
from api.core.logging import log
from api.db import session_scope
from api.models import Conversation, Creditor, Message, utcnow
from api.services.compliance import bot_input
from api.services.language import detect_language
from api.services.rasa import RasaUnavailable, send_to_rasa

# Sent once at the start of every conversation so that the bot's first words are the disclosure,
# whatever the debtor's first message is.
OPENING_PAYLOAD = "/start_conversation"


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    author: str = "bot"


def _reply_from_rasa(item: dict[str, Any]) -> Reply:
    buttons = [{"title": b.get("title", ""), "payload": b.get("payload", "")} for b in item.get("buttons") or []]
    return Reply(text=item.get("text") or "", buttons=buttons)


def find_or_create_conversation(channel: str, channel_address: str, creditor_id: int | None = None) -> str:
    """The open conversation of this channel address, or a new one for the deployment's creditor."""
    with session_scope() as session:
        conversation = (
            session.query(Conversation)
            .filter(Conversation.channel == channel, Conversation.channel_address == channel_address)
            .filter(Conversation.state != "closed")
            .order_by(Conversation.created_at.desc())
            .first()
        )
        if conversation is None:
            if creditor_id is None:
                creditor = session.query(Creditor).order_by(Creditor.id).first()
                if creditor is None:
                    raise RuntimeError("No creditor is configured: load one (make run loads the demo creditor).")
                creditor_id = creditor.id
            conversation = Conversation(creditor_id=creditor_id, channel=channel, channel_address=channel_address)
            session.add(conversation)
            session.flush()
        return conversation.id


class ConversationRouter:
    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.http = http
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, conversation_id: str) -> asyncio.Lock:
        # One message at a time per conversation keeps Rasa's tracker and our records in order.
        return self._locks.setdefault(conversation_id, asyncio.Lock())

    async def handle_inbound(
        self,
        conversation_id: str,
        text: str,
        *,
        channel_message_id: str | None = None,
        language_hint: str | None = None,
    ) -> list[Reply]:
        async with self._lock(conversation_id):
            stored = await to_thread.run_sync(self._store_inbound, conversation_id, text, channel_message_id, language_hint)
            if stored["rejected"]:
                return await to_thread.run_sync(
                    self._finish, conversation_id, stored["message_id"], "rejected", "too_long", [stored["rejected"]]
                )
            if stored["state"] != "bot":
                return []
            metadata = {"channel": stored["channel"], "language": stored["language"]}
            try:
                replies: list[Reply] = []
                if not stored["opened"]:
                    replies += [_reply_from_rasa(r) for r in await self._rasa(conversation_id, OPENING_PAYLOAD, metadata)]
                    await to_thread.run_sync(self._mark_opened, conversation_id)
                replies += [_reply_from_rasa(r) for r in await self._rasa(conversation_id, bot_input(text), metadata)]
            except RasaUnavailable:
                log.warning("rasa_unavailable", conversation_id=conversation_id, message_id=stored["message_id"])
                holding = Reply(text=i18n.t("router.bot_unavailable", stored["language"]), author="system")
                return await to_thread.run_sync(
                    self._finish, conversation_id, stored["message_id"], "received", "rasa_unavailable", [holding]
                )
            return await to_thread.run_sync(self._finish, conversation_id, stored["message_id"], "processed", None, replies)

    async def _rasa(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        return await send_to_rasa(self.http, self.settings.rasa_url, conversation_id, text, metadata)

    def _store_inbound(
        self, conversation_id: str, text: str, channel_message_id: str | None, language_hint: str | None
    ) -> dict[str, Any]:
        with session_scope() as session:
            conversation = session.get(Conversation, conversation_id)
            too_long = len(text) > self.settings.max_message_chars
            message = Message(
                conversation_id=conversation.id,
                direction="inbound",
                author="debtor",
                channel=conversation.channel,
                channel_message_id=channel_message_id,
                text=text,
                status="rejected" if too_long else "received",
                error="too_long" if too_long else None,
            )
            session.add(message)
            if conversation.language is None:
                conversation.language = (
                    detect_language(text) or language_hint or self.settings.default_language
                )
            opened = conversation.opened_at is not None
            conversation.last_message_at = utcnow()
            session.flush()
            log.info("message_received", conversation_id=conversation.id, message_id=message.id, chars=len(text))
            rejected = None
            if too_long:
                rejected = Reply(
                    text=i18n.t("router.message_too_long", conversation.language, limit=self.settings.max_message_chars),
                    author="system",
                )
            return {
                "message_id": message.id,
                "state": conversation.state,
                "channel": conversation.channel,
                "language": conversation.language,
                "opened": opened,
                "rejected": rejected,
            }

    def _mark_opened(self, conversation_id: str) -> None:
        with session_scope() as session:
            session.get(Conversation, conversation_id).opened_at = utcnow()

    def _finish(
        self, conversation_id: str, message_id: int, status: str, error: str | None, replies: list[Reply]
    ) -> list[Reply]:
        """Marks the debtor's message and stores the replies, in one transaction."""
        with session_scope() as session:
            message = session.get(Message, message_id)
            message.status = status
            message.error = error
            if status == "processed":
                message.processed_at = utcnow()
            for reply in replies:
                payload: dict[str, Any] = {"in_reply_to": message_id}
                if reply.buttons:
                    payload["buttons"] = reply.buttons
                session.add(
                    Message(
                        conversation_id=conversation_id,
                        direction="outbound",
                        author=reply.author,
                        channel=message.channel,
                        text=reply.text,
                        payload=payload,
                        status="sent",
                    )
                )
        return replies
