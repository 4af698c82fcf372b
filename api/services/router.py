"""The relay: stores the debtor's message first, then has it answered by the bot or passed to the agent.

The message's path: door (`channels/`) → store (`store_inbound`) → relay (this module) → Rasa or the agent
→ the one outbound writer (`outbound.write`) → the door's transport. Processing takes the conversation's
lock and answers, in order, every message of the conversation still `received` up to that one, so a
message kept while Rasa was down is answered before a newer one. A failure leaves the message `received`
with its error; `retry_unanswered` picks it up again. Replies are written in the same transaction that
marks the message processed: the web chat emits them in the same turn, the outbox sends SMS and WhatsApp.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any

import httpx
from anyio import to_thread
from sqlalchemy import select

from api import i18n
from api.core.config import Settings
from api.core.logging import log
from api.db import session_scope
from api.models import Account, Conversation, Creditor, Message, utcnow
from api.services import handoffs, outbound, records
from api.services.bot_context import identity_expired_events
from api.services.compliance import bot_input, is_opt_out_request
from api.services.errors import ConversationClosed, RasaUnavailable
from api.services.language import detect_language
from api.services.locks import ConversationLocks
from api.services.rasa import append_tracker_events, send_to_rasa, turn_replies
from api.services.sms_text import button_choice
from api.services.transport import Reply, Transports
from api.states import PHONE_CHANNELS, Author, ConversationState, Direction, MessageStatus

# Sent once at the start of every conversation so that the bot's first words are the disclosure,
# whatever the debtor's first message is.
OPENING_PAYLOAD = "/start_conversation"
# Rasa's input channel per channel: the relay makes Rasa answer with the SMS-length (`twilio`) variants.
RASA_WEBHOOKS = {"webchat": "rest", "sms": "twilio_relay", "whatsapp": "twilio_relay"}


@dataclass(frozen=True)
class StoredInbound:
    message_id: int
    conversation_id: str
    rejected: Reply | None = None


def _reply_from_rasa(item: dict[str, Any]) -> Reply:
    buttons = [{"title": b.get("title", ""), "payload": b.get("payload", "")} for b in item.get("buttons") or []]
    return Reply(text=item.get("text") or "", buttons=buttons)


def readable_text(text: str) -> str:
    """The text with any lone UTF-16 surrogate (malformed Unicode a client can send in JSON) replaced by
    U+FFFD, so it can be stored and logged; well-formed text is unchanged."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def find_or_create_conversation(channel: str, channel_address: str, creditor_id: int | None = None) -> str:
    """The open conversation of this channel address, or a new one.

    A new SMS or WhatsApp conversation belongs to the creditor of the account the number is on, when it is
    on exactly one account (`candidate_account_id`); otherwise, and on the web chat, to `creditor_id` or
    the deployment's first creditor.
    """
    with session_scope() as session:
        conversation = session.scalar(
            select(Conversation)
            .where(Conversation.channel == channel, Conversation.channel_address == channel_address)
            .where(Conversation.state != ConversationState.CLOSED)
            .order_by(Conversation.created_at.desc())
            .limit(1)
        )
        if conversation is not None:
            return conversation.id
        candidate: Account | None = None
        if channel in PHONE_CHANNELS:
            accounts = list(session.scalars(select(Account).where(Account.phone == channel_address).limit(2)))
            candidate = accounts[0] if len(accounts) == 1 else None
        if creditor_id is not None and session.get(Creditor, creditor_id) is None:
            creditor_id = None  # a page naming no creditor we know: the default below
        if creditor_id is None:
            creditor_id = (
                candidate.creditor_id if candidate else session.scalar(select(Creditor.id).order_by(Creditor.id).limit(1))
            )
            if creditor_id is None:
                raise RuntimeError("No creditor is configured: load one (make run loads the demo creditor).")
        conversation = Conversation(
            creditor_id=creditor_id,
            channel=channel,
            channel_address=channel_address,
            candidate_account_id=candidate.id if candidate else None,
        )
        session.add(conversation)
        session.flush()
        return conversation.id


class ConversationRouter:
    def __init__(
        self, settings: Settings, http: httpx.AsyncClient, transports: Transports, locks: ConversationLocks | None = None
    ) -> None:
        self.settings = settings
        self.http = http
        # Delivers replies written outside a turn that answers them itself (a retry once Rasa is back): emits
        # them on the web chat, wakes the outbox for SMS and WhatsApp.
        self.transports = transports
        # One message at a time per conversation, across workers, keeps Rasa's tracker and our records in order.
        self.locks = locks or ConversationLocks()
        self._turn_slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    async def handle_inbound(
        self,
        conversation_id: str,
        text: str,
        *,
        channel_message_id: str | None = None,
        language_hint: str | None = None,
    ) -> list[Reply]:
        """Stores the message, then answers it (and any earlier unanswered one): the web chat's path.

        When no other message of the conversation is being answered (the usual case), the message is stored and
        the unanswered ones are read in the same transaction, under the conversation's lock: one database round
        trip fewer per turn. Otherwise the message is stored at once and answered after the one in progress.
        """
        held = await self.locks.acquire(conversation_id, wait=False)
        if held is None:
            stored = await to_thread.run_sync(self.store_inbound, conversation_id, text, channel_message_id, language_hint)
            if stored.rejected:
                return [stored.rejected]
            return await self.process(conversation_id, stored.message_id)
        try:
            stored, pending = await to_thread.run_sync(
                self._store_and_collect, conversation_id, text, channel_message_id, language_hint
            )
            if stored.rejected:
                return [stored.rejected]
            return await self._answer_pending(pending)
        finally:
            await held.release()

    def _store_and_collect(
        self, conversation_id: str, text: str, channel_message_id: str | None, language_hint: str | None
    ) -> tuple[StoredInbound, list[dict[str, Any]]]:
        with session_scope() as session:
            conversation = session.get_one(Conversation, conversation_id)
            stored = self._store(session, conversation, text, channel_message_id, language_hint)
            pending = [] if stored.rejected else self._collect(session, conversation, stored.message_id)
            return stored, pending

    def store_inbound(
        self, conversation_id: str, text: str, channel_message_id: str | None = None, language_hint: str | None = None
    ) -> StoredInbound:
        with session_scope() as session:
            conversation = session.get_one(Conversation, conversation_id)
            return self._store(session, conversation, text, channel_message_id, language_hint)

    def _store(
        self, session: Any, conversation: Conversation, text: str, channel_message_id: str | None, language_hint: str | None
    ) -> StoredInbound:
        if conversation.state == ConversationState.CLOSED:
            raise ConversationClosed()
        text = readable_text(text)
        limit = self.settings.max_message_chars
        too_long = len(text) > limit
        message = Message(
            conversation_id=conversation.id,
            direction=Direction.INBOUND,
            author=Author.DEBTOR,
            channel=conversation.channel,
            channel_message_id=channel_message_id,
            # A message over the limit is refused and the debtor asked to shorten it; only its beginning is
            # kept (a flood of huge messages must not fill the database).
            text=text[:limit],
            payload={"original_chars": len(text)} if too_long else None,
            status=MessageStatus.REJECTED if too_long else "received",
            error="too_long" if too_long else None,
        )
        if self._verification_expired(conversation, now := utcnow()):
            conversation.verified_at = None
            message.payload = {**(message.payload or {}), "identity_expired": True}
            log.info("verification_expired", conversation_id=conversation.id)
        session.add(message)
        if conversation.language is None:
            account_language = (
                session.get_one(Account, conversation.candidate_account_id).language
                if conversation.candidate_account_id
                else None
            )
            conversation.language = detect_language(text) or language_hint or account_language or self.settings.default_language
        conversation.last_message_at = now
        session.flush()
        log.info("message_received", conversation_id=conversation.id, message_id=message.id, chars=len(text))
        rejected = None
        if too_long:
            rejected = Reply(
                text=i18n.t("router.message_too_long", conversation.language, limit=self.settings.max_message_chars),
                author=Author.SYSTEM,
            )
            self._store_replies(session, conversation, message.id, [rejected])
        return StoredInbound(message.id, conversation.id, rejected)

    def _verification_expired(self, conversation: Conversation, now: dt.datetime) -> bool:
        """The debtor proved who they are, then stayed silent longer than allowed."""
        idle = self.settings.verification_idle_minutes
        return (
            idle > 0
            and conversation.verified_at is not None
            and conversation.last_message_at is not None
            and now - conversation.last_message_at > dt.timedelta(minutes=idle)
        )

    async def process(
        self, conversation_id: str, up_to_message_id: int | None = None, *, deliver: bool = False, recover: bool = False
    ) -> list[Reply]:
        """Answers the conversation's unanswered messages in order (up to `up_to_message_id`). `recover`: they
        may have reached Rasa already (a worker stopped in the middle of a turn): each is looked for in the
        tracker before it is sent."""
        held = await self.locks.acquire(conversation_id)
        if held is None:  # another worker is answering it; what is left is retried
            return []
        try:
            pending = await to_thread.run_sync(self._unanswered, conversation_id, up_to_message_id)
            for item in pending:
                item["recover"] = recover
            return await self._answer_pending(pending, deliver=deliver)
        finally:
            await held.release()

    async def _answer_pending(self, pending: list[dict[str, Any]], *, deliver: bool = False) -> list[Reply]:
        """Answers the collected messages in order; called with the conversation's lock held."""
        replies: list[Reply] = []
        for item in pending:
            answered, ok = await self._answer(item)
            replies += answered
            if not ok:
                break  # Rasa is down: later messages wait behind this one
        if replies:
            conversation_id, channel, address = (pending[0][k] for k in ("conversation_id", "channel", "channel_address"))
            # SMS/WhatsApp replies always leave through the outbox; web-chat callers emit their own.
            if deliver or channel in PHONE_CHANNELS:
                await self.transports.deliver(conversation_id, channel, address, replies)
        return replies

    def _unanswered(self, conversation_id: str, up_to_message_id: int | None) -> list[dict[str, Any]]:
        with session_scope() as session:
            return self._collect(session, session.get_one(Conversation, conversation_id), up_to_message_id)

    def _collect(self, session: Any, conversation: Conversation, up_to_message_id: int | None) -> list[dict[str, Any]]:
        conversation_id = conversation.id
        query = (
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.direction == Direction.INBOUND)
            .where(Message.status == MessageStatus.RECEIVED)
            .order_by(Message.id)
        )
        if up_to_message_id is not None:
            query = query.where(Message.id <= up_to_message_id)
        items = []
        for message in session.scalars(query):
            items.append(
                {
                    "message_id": message.id,
                    "conversation_id": conversation_id,
                    "text": self._bot_text(session, conversation, message),
                    "state": conversation.state,
                    "channel": conversation.channel,
                    "channel_address": conversation.channel_address,
                    "language": conversation.language,
                    "opened": conversation.opened_at is not None,
                    "held": message.error == "rasa_unavailable",
                    "identity_expired": bool((message.payload or {}).get("identity_expired")),
                }
            )
        return items

    def _bot_text(self, session: Any, conversation: Conversation, message: Message) -> str:
        """What Rasa is given: opt-out keywords become the stop intent; on SMS a number picks a button."""
        if conversation.channel in PHONE_CHANNELS:
            last_with_buttons = session.scalar(
                select(Message)
                .where(Message.conversation_id == conversation.id, Message.direction == Direction.OUTBOUND)
                .where(Message.id < message.id)
                .order_by(Message.id.desc())
                .limit(1)
            )
            buttons = ((last_with_buttons.payload or {}).get("buttons") or []) if last_with_buttons else []
            chosen = button_choice(message.text, buttons)
            if chosen:
                return chosen
        return bot_input(message.text)

    async def _answer(self, item: dict[str, Any]) -> tuple[list[Reply], bool]:
        if item["state"] != ConversationState.BOT:
            # A person has (or is about to have) the conversation: the console shows the message, Rasa never sees it.
            return await to_thread.run_sync(self._to_agent, item), True
        metadata = {"channel": item["channel"], "language": item["language"]}
        conversation_id, message_id = item["conversation_id"], item["message_id"]
        try:
            replies: list[Reply] = []
            if item.get("identity_expired"):
                # Rasa forgets the file before it reads the message: it asks who the debtor is again.
                await append_tracker_events(self.http, self.settings, conversation_id, identity_expired_events())
            if not item["opened"]:
                opening = await self._turn(item, OPENING_PAYLOAD, metadata, f"{message_id}:opening")
                replies += [_reply_from_rasa(r) for r in opening]
                await to_thread.run_sync(self._mark_opened, conversation_id)
            replies += [_reply_from_rasa(r) for r in await self._turn(item, item["text"], metadata, str(message_id))]
        except RasaUnavailable:
            log.warning("rasa_unavailable", conversation_id=conversation_id, message_id=message_id)
            if item["held"]:
                return [], False  # the debtor already has the holding reply for this message
            holding = Reply(text=i18n.t("router.bot_unavailable", item["language"]), author=Author.SYSTEM)
            stored = await to_thread.run_sync(
                self._finish, conversation_id, message_id, "received", "rasa_unavailable", [holding]
            )
            return stored, False
        return await to_thread.run_sync(self._finish, conversation_id, message_id, "processed", None, replies), True

    def _to_agent(self, item: dict[str, Any]) -> list[Reply]:
        """Marks the message for the agent; a stop request is still honoured at once, and a debtor still
        waiting for a person is told once that their message was passed on."""
        with session_scope() as session:
            conversation = session.get_one(Conversation, item["conversation_id"])
            message = session.get_one(Message, item["message_id"])
            message.status, message.processed_at = "for_agent", utcnow()
            language = conversation.language or self.settings.default_language
            replies: list[Reply] = []
            if is_opt_out_request(message.text):
                if not records.is_opted_out(session, conversation.channel, conversation.channel_address):
                    records.record_opt_out(session, conversation, actor="debtor")
                    replies.append(Reply(text=i18n.t("router.opt_out_confirmed", language), author=Author.SYSTEM))
            elif conversation.state == ConversationState.WAITING_FOR_AGENT and not self._waiting_acknowledged(
                session, conversation
            ):
                replies.append(Reply(text=i18n.t("router.waiting_for_agent", language), author=Author.SYSTEM, kind="waiting_ack"))
            self._store_replies(session, conversation, message.id, replies)
            return replies

    def _waiting_acknowledged(self, session: Any, conversation: Conversation) -> bool:
        handoff = handoffs.active_handoff(session, conversation.id)
        since = handoff.created_at if handoff else conversation.created_at
        acks = session.scalars(
            select(Message.payload)
            .where(
                Message.conversation_id == conversation.id,
                Message.direction == Direction.OUTBOUND,
                Message.author == Author.SYSTEM,
            )
            .where(Message.created_at >= since)
        )
        return any((payload or {}).get("kind") == "waiting_ack" for payload in acks)

    async def _turn(self, item: dict[str, Any], text: str, metadata: dict[str, Any], turn: str) -> list[dict[str, Any]]:
        """One turn, taken by Rasa at most once. Each turn carries its key; a message whose earlier attempt failed
        (a timeout may have reached Rasa, still working) is first looked for in Rasa's tracker, and its replies
        taken from there rather than sending it again."""
        if item["held"] or item.get("recover"):
            done = await turn_replies(self.http, self.settings, item["conversation_id"], turn)
            if done is not None:
                log.info("turn_recovered", conversation_id=item["conversation_id"], turn=turn, replies=len(done))
                return done
        return await self._rasa(item["channel"], item["conversation_id"], text, {**metadata, "turn": turn})

    async def _rasa(self, channel: str, conversation_id: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        webhook = RASA_WEBHOOKS.get(channel, "rest")
        async with self.turn_slots():
            return await send_to_rasa(self.http, self.settings, conversation_id, text, metadata, webhook=webhook)

    def turn_slots(self) -> asyncio.Semaphore:
        """`rasa_turns_at_once` turns at Rasa at a time from this worker (the semaphore of the running loop)."""
        loop = asyncio.get_running_loop()
        if self._turn_slots is None or self._turn_slots[0] is not loop:
            self._turn_slots = (loop, asyncio.Semaphore(self.settings.rasa_turns_at_once))
        return self._turn_slots[1]

    def _mark_opened(self, conversation_id: str) -> None:
        with session_scope() as session:
            session.get_one(Conversation, conversation_id).opened_at = utcnow()

    def _finish(self, conversation_id: str, message_id: int, status: str, error: str | None, replies: list[Reply]) -> list[Reply]:
        """Marks the debtor's message and stores the replies, in one transaction."""
        with session_scope() as session:
            message = session.get_one(Message, message_id)
            message.status = status
            message.error = error
            if status == MessageStatus.PROCESSED:
                message.processed_at = utcnow()
            conversation = session.get_one(Conversation, conversation_id)
            self._store_replies(session, conversation, message_id, replies)
        return replies

    def _store_replies(self, session: Any, conversation: Conversation, in_reply_to: int, replies: list[Reply]) -> None:
        for reply in replies:
            outbound.write(
                session,
                self.settings,
                conversation,
                outbound.Outbound(
                    text=reply.text, author=reply.author, kind=reply.kind, buttons=reply.buttons, in_reply_to=in_reply_to
                ),
            )

    def unanswered_conversations(self, older_than_seconds: float) -> list[str]:
        """Conversations with a debtor message still waiting for the bot (Rasa was down, api restarted)."""
        cutoff = utcnow() - dt.timedelta(seconds=older_than_seconds)
        with session_scope() as session:
            return list(
                session.scalars(
                    select(Message.conversation_id)
                    .join(Conversation, Conversation.id == Message.conversation_id)
                    .where(
                        Message.direction == Direction.INBOUND,
                        Message.status == MessageStatus.RECEIVED,
                        Message.created_at <= cutoff,
                    )
                    .where(Conversation.state == ConversationState.BOT)
                    .distinct()
                )
            )

    async def retry_unanswered(self, older_than_seconds: float = 2.0) -> int:
        """One pass over the unanswered messages; returns how many conversations were tried. The conversations
        are answered side by side (Rasa takes `rasa_turns_at_once` of them at a time): once Rasa is back after
        an outage, every debtor who got the holding reply is answered in about the time the backlog takes
        Rasa, not one conversation after the other behind the new messages."""
        conversations = await to_thread.run_sync(self.unanswered_conversations, older_than_seconds)
        await asyncio.gather(*(self.process(c, deliver=True, recover=True) for c in conversations))
        return len(conversations)

    async def run_retries(self, interval_seconds: float) -> None:
        """Background task of the api: answers what Rasa could not answer before, once it is back."""
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                await self.retry_unanswered()
            except Exception:  # noqa: BLE001 - the loop must survive a bad pass; the error is logged
                log.exception("inbound_retry_failed")
