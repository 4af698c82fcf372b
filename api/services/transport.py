"""What the services know of the doors: a reply, and a transport that delivers replies to an address.

The doors (`channels/webchat`, `channels/twilio`, and later e-mail) implement `Transport` and register it at
start-up; the services call `Transports.deliver` and never import a door. This is the httpx transport
pattern: one small interface here, its implementations beside the doors they serve.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Reply:
    """One message to the debtor, as the bot (or a person, or the system) wrote it, before any channel's rendering."""

    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    author: str = "bot"
    # What kind of system message this is (kept in the message's payload), e.g. waiting_ack.
    kind: str | None = None


class Transport(Protocol):
    async def deliver(self, conversation_id: str, channel: str, address: str, replies: list[Reply]) -> None:
        """Sends replies already stored as outbound rows (the web chat emits them; the outbox is woken)."""


class Transports:
    """The transports registered at start-up, by channel. Delivering on a channel nobody registered does
    nothing: the rows are stored, and the debtor sees them when the door is back (web chat) or the outbox
    sends them (SMS, WhatsApp)."""

    def __init__(self) -> None:
        self._by_channel: dict[str, Transport] = {}

    def register(self, transport: Transport, *channels: str) -> None:
        for channel in channels:
            self._by_channel[channel] = transport

    async def deliver(self, conversation_id: str, channel: str, address: str, replies: list[Reply]) -> None:
        transport = self._by_channel.get(channel)
        if transport is not None and replies:
            await transport.deliver(conversation_id, channel, address, replies)
