"""The rasa-webchat socket.io protocol, served by the api so the unmodified widget talks to us.

Events: `session_request` -> `session_confirm`, `user_uttered` -> `bot_uttered` (buttons as quick replies).
The server issues the widget's session id, a secret; the conversation's address is its digest, and the
conversation id (Rasa's sender id) is ours.

Several api workers (`REDIS_URL`): socket.io runs on python-socketio's Redis manager; which socket holds a
session is a lease in Redis, renewed while the socket lives; a reply written on one worker (an agent's words,
a message answered once Rasa is back) is shown by the worker that holds the session. Each socket is shown the
conversation's stored replies it has not been shown yet (`Conversation.webchat_shown_through`), so a socket
that resumes its session on another worker, after the first one stopped, is shown what it missed, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import secrets
from collections.abc import Callable
from typing import Any

import redis.asyncio
import redis.exceptions
import socketio
from anyio import to_thread
from sqlalchemy import select, update

from api.core.limits import get_throttle
from api.core.logging import log
from api.core.shared import async_redis, async_redis_listener
from api.db import session_scope
from api.models import Conversation, Message
from api.services.errors import ConversationClosed
from api.services.router import ConversationRouter, find_or_create_conversation
from api.services.transport import Reply
from api.states import Direction, MessageStatus

CHANNEL = "webchat"
# A session held by a socket of a worker that stopped without a word is free again after this long.
HOLD_SECONDS = 6
RENEW_SECONDS = 2.0
# A socket asking for a session still held elsewhere waits this long for it (the other socket may be gone).
RESUME_WAIT_SECONDS = 8.0
DELIVER_CHANNEL = "webchat-deliver"
_RELEASE_IF_MINE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


def bot_uttered_payload(reply: Reply) -> dict[str, Any]:
    payload: dict[str, Any] = {"text": reply.text}
    if reply.buttons:
        payload["quick_replies"] = [{"content_type": "text", "title": b["title"], "payload": b["payload"]} for b in reply.buttons]
    return payload


def _valid_session_id(value: Any) -> str | None:
    if isinstance(value, str) and 8 <= len(value) <= 64 and value.replace("-", "").isalnum():
        return value
    return None


def session_address(session_id: str) -> str:
    """The conversation's channel address for a web-chat session: a digest of the session secret, so that
    neither the database, the logs nor the console hold what would let someone join the session."""
    return hashlib.sha256(f"webchat-session:{session_id}".encode()).hexdigest()


def _client_address(environ: dict[str, Any]) -> str:
    """The peer's address (the proxy's, unless uvicorn runs with --proxy-headers behind a trusted one)."""
    client = (environ.get("asgi.scope") or {}).get("client")
    return str(client[0]) if client else "unknown"


def _latest_conversation(address: str) -> str | None:
    with session_scope() as session:
        return session.scalar(
            select(Conversation.id)
            .where(Conversation.channel == CHANNEL, Conversation.channel_address == address)
            .order_by(Conversation.created_at.desc())
            .limit(1)
        )


def _not_shown(conversation_id: str) -> list[tuple[int, Reply]]:
    """The conversation's replies no socket of its session was shown yet, in order."""
    with session_scope() as session:
        shown = session.scalar(select(Conversation.webchat_shown_through).where(Conversation.id == conversation_id))
        query = (
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.direction == Direction.OUTBOUND)
            .where(Message.status == MessageStatus.SENT)
            .order_by(Message.id)
        )
        if shown is not None:
            query = query.where(Message.id > shown)
        return [
            (m.id, Reply(text=m.text, buttons=(m.payload or {}).get("buttons") or [], author=m.author))
            for m in session.scalars(query)
        ]


def _mark_shown(conversation_id: str, through: int) -> None:
    with session_scope() as session:
        session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .where((Conversation.webchat_shown_through.is_(None)) | (Conversation.webchat_shown_through < through))
            .values(webchat_shown_through=through)
        )


class WebChatSessions:
    """This worker's web-chat sessions: which socket holds which session (and, with Redis, the lease that
    tells the other workers so), and showing each session the replies it has not seen."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        shared: redis.asyncio.Redis | None,
        worker: str,
        listener: redis.asyncio.Redis | None = None,
    ) -> None:
        self.sio = sio
        self.shared = shared
        self.listener = listener or shared
        self.worker = worker
        self.holders: dict[str, str] = {}  # address -> the socket of this worker that holds it
        self._showing: dict[str, asyncio.Lock] = {}

    def _lease(self, address: str) -> str:
        return f"webchat-holder:{address}"

    async def hold(self, address: str, sid: str) -> bool:
        """Takes the session for `sid` unless another socket, here or on another worker, holds it."""
        if address in self.holders:
            return False
        if self.shared is not None:
            deadline = asyncio.get_running_loop().time() + RESUME_WAIT_SECONDS
            while True:
                try:
                    if await self.shared.set(self._lease(address), f"{self.worker}:{sid}", nx=True, ex=HOLD_SECONDS):
                        break
                except (redis.exceptions.RedisError, OSError) as exc:
                    log.warning("webchat_hold_without_redis", error=type(exc).__name__)
                    break
                if asyncio.get_running_loop().time() > deadline:
                    return False
                await asyncio.sleep(0.25)
        self.holders[address] = sid
        return True

    async def release(self, address: str, sid: str) -> None:
        if self.holders.get(address) != sid:
            return
        del self.holders[address]
        self._showing.pop(address, None)
        if self.shared is not None:
            with contextlib.suppress(redis.exceptions.RedisError, OSError):
                await self.shared.eval(_RELEASE_IF_MINE, 1, self._lease(address), f"{self.worker}:{sid}")  # type: ignore[misc]

    async def show_missed(self, address: str, conversation_id: str) -> None:
        """Shows this worker's socket of the session every stored reply it has not been shown, once."""
        sid = self.holders.get(address)
        if sid is None:
            return
        async with self._showing.setdefault(address, asyncio.Lock()):
            missed = await to_thread.run_sync(_not_shown, conversation_id)
            for _, reply in missed:
                # Straight to the socket, which is on this worker: no round trip through Redis, and it works
                # while Redis is away.
                await self.sio.emit("bot_uttered", bot_uttered_payload(reply), to=sid, ignore_queue=True)
            if missed:
                await to_thread.run_sync(_mark_shown, conversation_id, missed[-1][0])

    async def deliver(self, conversation_id: str, address: str) -> None:
        if address in self.holders:
            await self.show_missed(address, conversation_id)
        elif self.shared is not None:  # the worker that holds the session shows them (or its next socket will)
            try:
                await self.shared.publish(DELIVER_CHANNEL, json.dumps({"address": address, "conversation_id": conversation_id}))
            except (redis.exceptions.RedisError, OSError) as exc:
                log.warning("webchat_deliver_without_redis", error=type(exc).__name__)

    async def run(self) -> None:
        """With Redis: renews this worker's leases, and shows the replies other workers wrote for its sessions."""
        if self.shared is None:
            return
        await asyncio.gather(self._renew_leases(), self._listen())

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            try:
                async with self.shared.pipeline(transaction=False) as pipe:  # type: ignore[union-attr]
                    for address, sid in list(self.holders.items()):
                        pipe.set(self._lease(address), f"{self.worker}:{sid}", ex=HOLD_SECONDS)
                    await pipe.execute()
            except (redis.exceptions.RedisError, OSError) as exc:
                log.warning("webchat_leases_not_renewed", error=type(exc).__name__)

    async def _listen(self) -> None:
        assert self.listener is not None
        while True:
            try:
                async with self.listener.pubsub() as pubsub:
                    await pubsub.subscribe(DELIVER_CHANNEL)
                    async for message in pubsub.listen():
                        if message.get("type") != "message":
                            continue
                        news = json.loads(message["data"])
                        if news.get("address") in self.holders:
                            await self.show_missed(news["address"], news["conversation_id"])
            except (redis.exceptions.RedisError, OSError) as exc:
                log.warning("webchat_deliveries_interrupted", error=type(exc).__name__)
                await asyncio.sleep(1.0)  # Redis restarting: subscribe again


class WebChatTransport:
    """Shows replies written outside a socket event (an agent's words, answers once Rasa is back) on the
    debtor's session, whichever worker holds it."""

    def __init__(self, sessions: WebChatSessions) -> None:
        self.sessions = sessions

    async def deliver(self, conversation_id: str, channel: str, address: str, replies: list[Reply]) -> None:
        await self.sessions.deliver(conversation_id, address)


def _engineio_ids(server: socketio.AsyncServer, prefix: str) -> None:
    """Prefixes this worker's engine.io session ids with its name: the load balancer routes each request of a
    polling session to the worker that holds it (deploy/nginx.conf, scripts/stack.py)."""
    if not prefix:
        return
    generate: Callable[[], str] = server.eio.generate_id
    server.eio.generate_id = lambda: f"{prefix}.{generate()}"


def create_webchat_server(
    router: ConversationRouter,
    cors_origins: list[str] | str,
    *,
    max_packet_bytes: int,
    redis_url: str = "",
    worker_name: str = "",
    worker: str = "api",
) -> tuple[socketio.AsyncServer, WebChatSessions]:
    """The socket.io server. The server issues every session id (a secret); a socket may resume a session it
    names only when a conversation was opened on it and no other socket holds it now, so a made-up, guessed
    or leaked id gets nothing of anyone's conversation. Replies go to the socket that holds the session's
    address (its digest). A session dropped before its first message is simply not resumed.
    """
    manager = socketio.AsyncRedisManager(redis_url) if redis_url else None
    sio = socketio.AsyncServer(
        async_mode="asgi", cors_allowed_origins=cors_origins, max_http_buffer_size=max_packet_bytes, client_manager=manager
    )
    _engineio_ids(sio, worker_name)
    shared = async_redis(redis_url) if redis_url else None
    sessions = WebChatSessions(sio, shared, worker, async_redis_listener(redis_url) if redis_url else None)

    async def resumable(address: str, sid: str) -> str | None:
        """The conversation of the session at `address`, now held by `sid`; None if it cannot be resumed."""
        conversation_id = await to_thread.run_sync(_latest_conversation, address)
        if conversation_id is None or not await sessions.hold(address, sid):
            return None
        return conversation_id

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], _auth: Any = None) -> None:
        await sio.save_session(sid, {"client": _client_address(environ)})

    @sio.event
    async def disconnect(sid: str, *_reason: Any) -> None:
        session = await sio.get_session(sid)
        address = session.get("address")
        if address:
            await sessions.release(address, sid)

    @sio.on("session_request")
    async def session_request(sid: str, data: Any) -> None:
        socket_session = await sio.get_session(sid)
        if socket_session.get("address"):  # one session per socket
            await sio.emit("session_confirm", socket_session["session_id"], to=sid, ignore_queue=True)
            return
        requested = _valid_session_id((data or {}).get("session_id") if isinstance(data, dict) else None)
        resumed = await resumable(session_address(requested), sid) if requested else None
        session_id = requested if resumed else None
        if session_id is None:
            # Each new session is a fresh conversation, so fresh verification tries: a client may open only so many.
            if not get_throttle().allow("webchat_session", socket_session.get("client", "unknown")):
                log.warning("webchat_sessions_throttled")
                await sio.emit(
                    "error",
                    {"error": "rate_limited", "detail": "too many new sessions from this client; try later"},
                    to=sid,
                    ignore_queue=True,
                )
                return
            session_id = secrets.token_hex(20)
            await sessions.hold(session_address(session_id), sid)
        address = session_address(session_id)
        await sio.save_session(sid, {**socket_session, "session_id": session_id, "address": address})
        await sio.emit("session_confirm", session_id, to=sid, ignore_queue=True)
        if resumed:  # what was written while no socket held the session (a worker stopped, a page reloaded)
            await sessions.show_missed(address, resumed)

    @sio.on("user_uttered")
    async def user_uttered(sid: str, data: Any) -> None:
        if not isinstance(data, dict) or not isinstance(data.get("message"), str):
            await sio.emit(
                "error",
                {"error": "invalid_message", "detail": "user_uttered needs a 'message' string"},
                to=sid,
                ignore_queue=True,
            )
            return
        session = await sio.get_session(sid)
        # Only the session this socket was given: a session id named in the message is not trusted.
        address = session.get("address")
        if address is None:
            await sio.emit("error", {"error": "no_session", "detail": "send session_request first"}, to=sid, ignore_queue=True)
            return
        # A flood from one session is refused before anything is stored.
        if not get_throttle().allow("inbound_message", address):
            await sio.emit(
                "error", {"error": "rate_limited", "detail": "too many messages: wait a minute"}, to=sid, ignore_queue=True
            )
            return
        custom = data.get("customData")
        language = custom.get("language") if isinstance(custom, dict) else None
        hint = language if language in ("fr", "en") else None
        # The page says whose site it is (customData.creditor, the creditor's id): its debtors verify here.
        named = custom.get("creditor") if isinstance(custom, dict) else None
        creditor_id = named if isinstance(named, int) and not isinstance(named, bool) else None
        # The socket remembers its conversation, so later messages skip the look-up; a conversation an agent
        # closed since is refused before anything is stored, and a new one is opened.
        conversation_id = session.get("conversation_id")
        while True:
            if conversation_id is None:  # find_or_create_conversation never returns a closed one
                conversation_id = await to_thread.run_sync(find_or_create_conversation, CHANNEL, address, creditor_id)
                session = {**session, "conversation_id": conversation_id}
                await sio.save_session(sid, session)
            try:
                replies = await router.handle_inbound(conversation_id, data["message"], language_hint=hint)
                break
            except ConversationClosed:
                conversation_id = None
        # The stored replies (these and any written meanwhile), each shown once.
        await sessions.show_missed(address, conversation_id)
        log.info("webchat_replied", conversation_id=conversation_id, replies=len(replies))

    return sio, sessions
