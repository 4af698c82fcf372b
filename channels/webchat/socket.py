"""The rasa-webchat socket.io protocol, served by the api so the unmodified widget talks to us.

Events: `session_request` -> `session_confirm`, `user_uttered` -> `bot_uttered` (buttons as quick replies).
The server issues the widget's session id, a secret; the conversation's address is its digest, and the
conversation id (Rasa's sender id) is ours.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import socketio
from anyio import to_thread
from limits import RateLimitItemPerHour
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from sqlalchemy import select

from api.core.limits import get_throttle
from api.core.logging import log
from api.db import session_scope
from api.models import Conversation
from api.services.errors import ConversationClosed
from api.services.router import ConversationRouter, find_or_create_conversation
from api.services.transport import Reply

CHANNEL = "webchat"


def bot_uttered_payload(reply: Reply) -> dict[str, Any]:
    payload: dict[str, Any] = {"text": reply.text}
    if reply.buttons:
        payload["quick_replies"] = [{"content_type": "text", "title": b["title"], "payload": b["payload"]} for b in reply.buttons]
    return payload


class WebChatTransport:
    """Emits replies written outside a socket event (an agent's words, answers once Rasa is back) to the
    room of the debtor's session."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio

    async def deliver(self, conversation_id: str, channel: str, address: str, replies: list[Reply]) -> None:
        for reply in replies:
            await self.sio.emit("bot_uttered", bot_uttered_payload(reply), room=address)


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


def _has_conversation(address: str) -> bool:
    with session_scope() as session:
        return (
            session.scalar(
                select(Conversation.id).where(Conversation.channel == CHANNEL, Conversation.channel_address == address).limit(1)
            )
            is not None
        )


def create_webchat_server(
    router: ConversationRouter, cors_origins: list[str] | str, *, sessions_per_client_per_hour: int, max_packet_bytes: int
) -> socketio.AsyncServer:
    """The socket.io server. The server issues every session id (a secret); a socket may resume a session it
    names only when a conversation was opened on it and no other socket holds it now, so a made-up, guessed
    or leaked id gets nothing of anyone's conversation. Replies go to the room of the session's address (its
    digest), which only its holder joins. A session dropped before its first message is simply not resumed.

    The map of held sessions lives in this process: several api processes need sticky sessions (or a
    shared store) for it to hold across them.
    """
    sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins=cors_origins, max_http_buffer_size=max_packet_bytes)
    # Each new session is a fresh conversation, so fresh verification tries: a client may open only so many.
    limiter = MovingWindowRateLimiter(MemoryStorage())
    new_sessions = RateLimitItemPerHour(sessions_per_client_per_hour)
    holders: dict[str, str] = {}  # address -> the socket that holds it now

    async def resumable(address: str) -> bool:
        return address not in holders and await to_thread.run_sync(_has_conversation, address)

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], _auth: Any = None) -> None:
        await sio.save_session(sid, {"client": _client_address(environ)})

    @sio.event
    async def disconnect(sid: str, *_reason: Any) -> None:
        session = await sio.get_session(sid)
        address = session.get("address")
        if address and holders.get(address) == sid:
            del holders[address]

    @sio.on("session_request")
    async def session_request(sid: str, data: Any) -> None:
        socket_session = await sio.get_session(sid)
        if socket_session.get("address"):  # one session per socket
            await sio.emit("session_confirm", socket_session["session_id"], room=sid)
            return
        requested = _valid_session_id((data or {}).get("session_id") if isinstance(data, dict) else None)
        session_id = requested if requested and await resumable(session_address(requested)) else None
        if session_id is None:
            if not await limiter.hit(new_sessions, "webchat-session", socket_session.get("client", "unknown")):
                log.warning("webchat_sessions_throttled")
                await sio.emit(
                    "error", {"error": "rate_limited", "detail": "too many new sessions from this client; try later"}, room=sid
                )
                return
            session_id = secrets.token_hex(20)
        address = session_address(session_id)
        holders[address] = sid
        await sio.enter_room(sid, address)
        await sio.save_session(sid, {**socket_session, "session_id": session_id, "address": address})
        await sio.emit("session_confirm", session_id, room=sid)

    @sio.on("user_uttered")
    async def user_uttered(sid: str, data: Any) -> None:
        if not isinstance(data, dict) or not isinstance(data.get("message"), str):
            await sio.emit("error", {"error": "invalid_message", "detail": "user_uttered needs a 'message' string"}, room=sid)
            return
        session = await sio.get_session(sid)
        # Only the session this socket was given: a session id named in the message is not trusted.
        address = session.get("address")
        if address is None:
            await sio.emit("error", {"error": "no_session", "detail": "send session_request first"}, room=sid)
            return
        # A flood from one session is refused before anything is stored.
        if not get_throttle().allow("inbound_message", address):
            await sio.emit("error", {"error": "rate_limited", "detail": "too many messages: wait a minute"}, room=sid)
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
                await sio.save_session(sid, {**session, "conversation_id": conversation_id})
            try:
                replies = await router.handle_inbound(conversation_id, data["message"], language_hint=hint)
                break
            except ConversationClosed:
                conversation_id = None
        for reply in replies:
            await sio.emit("bot_uttered", bot_uttered_payload(reply), room=address)
        log.info("webchat_replied", conversation_id=conversation_id, replies=len(replies))

    return sio
