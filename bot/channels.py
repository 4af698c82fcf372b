"""The Rasa side of the api's relay: web-chat messages (the REST channel, keeping the api's metadata) and SMS
and WhatsApp messages, answered as the `twilio` output channel.

The api is the only door Twilio knows (it checks signatures, keeps every message, applies opt-out and the
WhatsApp window, and sends through its outbox). It relays SMS and WhatsApp messages here rather than to
the REST channel so that the bot's replies are generated for the output channel `twilio`: Rasa then picks
the `channel: twilio` variants of domain.yml, written to fit in one or two SMS segments.
"""

from __future__ import annotations

import copy
from typing import Any, Awaitable, Callable, Dict, Optional, Text

import structlog
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

structlogger = structlog.get_logger()


class RestWithMetadataInput(RestInput):
    """Rasa's REST channel (`/webhooks/rest/webhook`), keeping the metadata the api sends with each message
    (its channel, language, and the turn's key that lets it find a turn Rasa took but could not answer)."""

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        return (request.json or {}).get("metadata")


class TwilioRelayOutput(CollectingOutputChannel):
    """Collects the replies like the REST channel does, under the channel name of the response variants."""

    @classmethod
    def name(cls) -> Text:
        return "twilio"


class TwilioRelayInput(InputChannel):
    """`POST /webhooks/twilio_relay/webhook` with `{"sender", "message", "metadata"}`, as the REST channel."""

    @classmethod
    def name(cls) -> Text:
        return "twilio_relay"

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        return (request.json or {}).get("metadata")

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        relay = Blueprint("twilio_relay_webhook", __name__)

        @relay.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @relay.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.json or {}
            sender, text = body.get("sender"), body.get("message")
            if not isinstance(sender, str) or not isinstance(text, str):
                return response.json({"error": "sender and message are required strings"}, status=400)
            collector = TwilioRelayOutput()
            try:
                await on_new_message(
                    UserMessage(text, collector, sender, input_channel=self.name(), metadata=self.get_metadata(request))
                )
            except Exception:  # noqa: BLE001 - answer what was collected, as the REST channel does
                structlogger.exception("twilio_relay.message.failure", text=copy.deepcopy(text))
            return response.json(collector.messages)

        return relay
