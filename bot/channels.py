"""The Rasa side of the api's relay: web-chat messages (the REST channel, keeping the api's metadata) and SMS
and WhatsApp messages, answered as the `twilio` output channel.

The api is the only door Twilio knows (it checks signatures, keeps every message, applies opt-out and the
WhatsApp window, and sends through its outbox). It relays SMS and WhatsApp messages here rather than to
the REST channel so that the bot's replies are generated for the output channel `twilio`: Rasa then picks
the `channel: twilio` variants of domain.yml, written to fit in one or two SMS segments.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

import structlog
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

structlogger = structlog.get_logger()

Handler = Callable[[UserMessage], Awaitable[Any]]
# The turns this Rasa server is answering now, by conversation and turn key, with the replies they will have.
_IN_FLIGHT: Dict[Text, "asyncio.Future[List[Dict[Text, Any]]]"] = {}


def once_per_turn(on_new_message: Handler) -> Handler:
    """Takes each turn once. The api sends every message with its turn key (`metadata.turn`) and, when it gave
    up waiting (a timeout) while this server was still answering, sends it again: the second request waits
    for the first and is given the same replies instead of the bot answering the message twice. (A turn that
    finished is found by the api in the tracker before it sends again: api/services/router.py.)"""

    async def handle(message: UserMessage) -> Any:
        turn = (message.metadata or {}).get("turn")
        collector = message.output_channel if isinstance(message.output_channel, CollectingOutputChannel) else None
        if not turn or collector is None:
            return await on_new_message(message)
        key = f"{message.sender_id}:{turn}"
        first = _IN_FLIGHT.get(key)
        if first is not None:
            structlogger.info("turn.already_being_answered", turn=turn)
            collector.messages.extend(copy.deepcopy(await asyncio.shield(first)))
            return None
        answered: "asyncio.Future[List[Dict[Text, Any]]]" = asyncio.get_running_loop().create_future()
        answered.add_done_callback(lambda future: future.cancelled() or future.exception())  # no waiter: fine
        _IN_FLIGHT[key] = answered
        try:
            result = await on_new_message(message)
        except BaseException:
            answered.set_exception(RuntimeError("the turn failed"))  # its waiters fail too: the api sends again
            raise
        else:
            answered.set_result(list(collector.messages))
            return result
        finally:
            del _IN_FLIGHT[key]

    return handle


def relay_blueprint(name: Text, output: Callable[[], CollectingOutputChannel], on_new_message: Handler) -> Blueprint:
    """`GET /` (health) and `POST /webhook` with `{"sender", "message", "metadata"}`: the bot's replies, or 503
    when the turn failed (a store or the lock store away, the turn cancelled). Rasa's own REST channel answers
    200 with whatever was collected, often nothing, and the api would take the message as answered; a 503
    makes it hold the message, reply with its holding message and send it again (Rasa saves a turn's tracker
    only once the turn is complete, so nothing of the failed turn is kept)."""
    on_new_message = once_per_turn(on_new_message)
    relay = Blueprint(f"{name}_webhook", __name__)

    @relay.route("/", methods=["GET"])
    async def health(_request: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    @relay.route("/webhook", methods=["POST"])
    async def receive(request: Request) -> HTTPResponse:
        body = request.json or {}
        sender, text, metadata = body.get("sender"), body.get("message"), body.get("metadata")
        if not isinstance(sender, str) or not isinstance(text, str):
            return response.json({"error": "sender and message are required strings"}, status=400)
        collector = output()
        try:
            await on_new_message(UserMessage(text, collector, sender, input_channel=name, metadata=metadata))
        except (Exception, asyncio.CancelledError):  # noqa: BLE001 - any failure: the api sends the turn again
            structlogger.exception(f"{name}.message.failure")
            return response.json({"error": "the turn failed; send it again"}, status=503)
        return response.json(collector.messages)

    return relay


class RestWithMetadataInput(RestInput):
    """Rasa's REST channel (`/webhooks/rest/webhook`), keeping the metadata the api sends with each message
    (its channel, language, and the turn's key that lets it find a turn Rasa took but could not answer)."""

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        return (request.json or {}).get("metadata")

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        return relay_blueprint(self.name(), CollectingOutputChannel, on_new_message)


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

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        return relay_blueprint(self.name(), TwilioRelayOutput, on_new_message)
