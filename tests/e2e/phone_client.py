"""A debtor on SMS or WhatsApp, through the local fake Twilio: signed webhooks in, outbound REST calls out.

`say()` has the fake Twilio deliver a signed inbound webhook to the api, waits until the api has processed
the message and its outbox has nothing left to send for the conversation (read from the database), then
returns the messages the fake Twilio received for this number since the previous turn.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

SETTLED_TIMEOUT = 90.0


@dataclass
class PhoneDebtor:
    twilio_url: str
    database_url: str
    number: str
    channel: str = "sms"
    seen: set[str] = field(default_factory=set)
    last_sid: str | None = None
    _engine: Engine | None = None

    @property
    def address(self) -> str:
        return f"whatsapp:{self.number}" if self.channel == "whatsapp" else self.number

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = create_engine(self.database_url, pool_pre_ping=True)
        return self._engine

    def send(self, body: str, message_sid: str | None = None) -> dict[str, Any]:
        """Only the webhook: Twilio's delivery of the debtor's message, signed. Returns the fake's report."""
        sid = message_sid or f"SM{uuid.uuid4().hex}"
        response = httpx.post(
            f"{self.twilio_url}/_fake/inbound",
            json={"channel": self.channel, "from": self.number, "body": body, "message_sid": sid},
            timeout=30,
        )
        response.raise_for_status()
        self.last_sid = sid
        return response.json()

    def outbound(self) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.twilio_url}/_fake/messages", params={"to": self.address}, timeout=30)
        response.raise_for_status()
        return response.json()

    def new_messages(self) -> list[dict[str, Any]]:
        fresh = [m for m in self.outbound() if m["sid"] not in self.seen]
        self.seen.update(m["sid"] for m in fresh)
        return fresh

    def settled(self, message_sid: str) -> bool:
        """The message is answered (or held) and nothing of its conversation waits in the outbox."""
        with self.engine.connect() as db:
            row = db.execute(
                text("select conversation_id, status from messages where channel_message_id = :sid"), {"sid": message_sid}
            ).first()
            if row is None or row.status == "received":
                return False
            waiting = db.execute(
                text(
                    "select count(*) from messages where conversation_id = :c and direction = 'outbound' "
                    "and status in ('pending', 'sending')"
                ),
                {"c": row.conversation_id},
            ).scalar()
            return waiting == 0

    def wait_settled(self, message_sid: str, timeout: float = SETTLED_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not self.settled(message_sid):
            if time.monotonic() > deadline:
                raise AssertionError(f"message {message_sid} not answered within {timeout:.0f}s")
            time.sleep(0.1)

    def say(self, body: str) -> list[dict[str, Any]]:
        """One turn: the debtor's message, then the messages sent back to this number because of it."""
        report = self.send(body)
        assert report["status_code"] == 200, report
        self.wait_settled(report["message_sid"])
        time.sleep(0.2)  # the fake records a message as soon as the api's REST call returns
        return self.new_messages()

    def conversation_id(self) -> str:
        with self.engine.connect() as db:
            return db.execute(
                text("select id from conversations where channel = :c and channel_address = :a"),
                {"c": self.channel, "a": self.number},
            ).scalar_one()


def bodies(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m["body"] or "" for m in messages)
