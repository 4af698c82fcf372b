"""A debtor in the web chat, speaking the rasa-webchat socket.io protocol like the real widget."""

from __future__ import annotations

import asyncio
from typing import Any

import socketio

from channels.webchat import session_address

FIRST_REPLY_TIMEOUT = 90.0
QUIET_AFTER_LAST_REPLY = 1.0


class WebChatDebtor:
    def __init__(self, base_url: str, language: str, session_id: str | None = None, creditor: int | None = None) -> None:
        self.base_url = base_url
        self.language = language
        # The creditor whose site the widget is on (the page's customData.creditor); None: the default one.
        self.creditor = creditor
        self.sio = socketio.AsyncClient()
        # The session asked for (a widget reloading its page names the one it was given); the server decides.
        self.requested_session_id = session_id
        self.session_id: str | None = None
        self.transcript: list[tuple[str, str]] = []
        self._replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._confirmed: asyncio.Future[str] | None = None

    async def __aenter__(self) -> WebChatDebtor:
        self._confirmed = asyncio.get_running_loop().create_future()
        self.sio.on("bot_uttered", self._replies.put_nowait)
        self.sio.on("session_confirm", lambda session_id: self._confirmed.set_result(session_id))
        await self.sio.connect(self.base_url, socketio_path="socket.io", transports=["websocket"])
        await self.sio.emit("session_request", {"session_id": self.requested_session_id})
        self.session_id = await asyncio.wait_for(self._confirmed, 10)
        return self

    @property
    def custom_data(self) -> dict[str, Any]:
        return {"language": self.language, **({"creditor": self.creditor} if self.creditor is not None else {})}

    @property
    def address(self) -> str:
        """The conversation's channel address in the database (a digest of the session id the server issued)."""
        assert self.session_id is not None
        return session_address(self.session_id)

    async def __aexit__(self, *exc: object) -> None:
        await self.sio.disconnect()

    async def wait_for(self, words: str, timeout: float) -> list[dict[str, Any]]:
        """The replies that arrive, without the debtor writing, until one holds `words` (e.g. the answer relayed
        once a service is back)."""
        seen: list[dict[str, Any]] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while not any(words in r.get("text", "") for r in seen):
            remaining = deadline - asyncio.get_running_loop().time()
            seen.append(await asyncio.wait_for(self._replies.get(), max(remaining, 0.01)))
        self.transcript += [("bot", r.get("text", "")) for r in seen]
        return seen

    async def say(self, text: str, session_id: str | None = None) -> list[dict[str, Any]]:
        """Sends one message and returns the bot's replies to it (all of them, in order). `session_id` names
        another session in the message, as a forger would; by default, this socket's own."""
        self.transcript.append(("debtor", text))
        await self.sio.emit(
            "user_uttered",
            {"message": text, "session_id": session_id or self.session_id, "customData": self.custom_data},
        )
        replies = [await asyncio.wait_for(self._replies.get(), FIRST_REPLY_TIMEOUT)]
        while True:
            try:
                replies.append(await asyncio.wait_for(self._replies.get(), QUIET_AFTER_LAST_REPLY))
            except asyncio.TimeoutError:
                break
        self.transcript += [("bot", r.get("text", "")) for r in replies]
        return replies

    async def replies_so_far(self) -> list[dict[str, Any]]:
        """Whatever arrived unasked (after a short wait), without waiting for a reply that should not come."""
        await asyncio.sleep(QUIET_AFTER_LAST_REPLY)
        found = []
        while not self._replies.empty():
            found.append(self._replies.get_nowait())
        return found


def texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


class ResumingDebtor(WebChatDebtor):
    """The widget's behaviour on a dropped socket: it reconnects and asks for its session again."""

    async def __aenter__(self) -> ResumingDebtor:
        await super().__aenter__()
        self.resumed = asyncio.Event()

        async def on_connect() -> None:
            await self.sio.emit("session_request", {"session_id": self.session_id})

        def on_confirm(session_id: str) -> None:
            assert session_id == self.session_id, "the session was not resumed"
            self.resumed.set()

        self.sio.on("connect", on_connect)
        self.sio.on("session_confirm", on_confirm)
        return self
