"""Each turn once on a Rasa server: a message sent again while it is still being answered (the api timed out
and retried) waits for the first and gets its replies; the bot does not answer it twice. A turn that fails is
refused (503), so that the api sends it again rather than taking it as answered."""

from __future__ import annotations

import asyncio
import json

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.lock_store import LockError

from bot.channels import _IN_FLIGHT, once_per_turn, relay_blueprint


def _message(turn: str | None, sender: str = "c1") -> UserMessage:
    return UserMessage("combien je dois ?", CollectingOutputChannel(), sender, metadata={"turn": turn} if turn else {})


def test_a_turn_sent_again_while_it_is_answered_is_answered_once():
    answered: list[str] = []

    async def slow_bot(message: UserMessage) -> None:
        answered.append(message.sender_id)
        await asyncio.sleep(0.2)
        await message.output_channel.send_text_message(message.sender_id, "Vous devez 380,00 €.")

    async def scenario() -> tuple[list, list]:
        handle = once_per_turn(slow_bot)
        first, again = _message("41"), _message("41")
        await asyncio.gather(handle(first), handle(again))
        return first.output_channel.messages, again.output_channel.messages

    first, again = asyncio.run(scenario())
    assert answered == ["c1"]
    assert first == again and first[0]["text"] == "Vous devez 380,00 €."
    assert not _IN_FLIGHT


def test_other_turns_and_other_conversations_are_not_held_up():
    answered: list[tuple[str, str | None]] = []

    async def bot(message: UserMessage) -> None:
        answered.append((message.sender_id, (message.metadata or {}).get("turn")))
        await asyncio.sleep(0.05)

    async def scenario() -> None:
        handle = once_per_turn(bot)
        await asyncio.gather(handle(_message("41")), handle(_message("42")), handle(_message("41", "c2")), handle(_message(None)))
        await handle(_message("41"))  # finished turns are the api's to find in the tracker: taken again here

    asyncio.run(scenario())
    assert sorted(answered, key=str) == sorted([("c1", "41"), ("c1", "42"), ("c2", "41"), ("c1", None), ("c1", "41")], key=str)


class _Request:
    def __init__(self, body: dict) -> None:
        self.json = body


def _webhook(blueprint) -> object:
    return next(route.handler for route in blueprint._future_routes if route.uri == "/webhook")


def test_a_turn_that_fails_is_refused_with_503_not_answered_with_nothing():
    """Rasa's REST channel answers 200 with no replies when the turn fails (the lock store away): the api
    would take the message as answered. Ours answers 503, to the request and to a copy of it waiting."""

    async def failing_bot(message: UserMessage) -> None:
        await asyncio.sleep(0.05)
        raise LockError("Error while acquiring lock. Error:\nConnection refused")

    async def scenario() -> list:
        receive = _webhook(relay_blueprint("rest", CollectingOutputChannel, failing_bot))
        body = {"sender": "c9", "message": "combien je dois ?", "metadata": {"turn": "7"}}
        return await asyncio.gather(receive(_Request(body)), receive(_Request(body)))

    answers = asyncio.run(scenario())
    assert [a.status for a in answers] == [503, 503]
    assert not _IN_FLIGHT


def test_a_turn_that_succeeds_is_answered_with_its_replies():
    async def bot(message: UserMessage) -> None:
        await message.output_channel.send_text_message(message.sender_id, "Vous devez 380,00 €.")

    receive = _webhook(relay_blueprint("twilio_relay", CollectingOutputChannel, bot))
    answer = asyncio.run(receive(_Request({"sender": "c9", "message": "combien ?", "metadata": {"turn": "8"}})))
    assert answer.status == 200 and json.loads(answer.body)[0]["text"] == "Vous devez 380,00 €."
    refused = asyncio.run(receive(_Request({"sender": 4, "message": "combien ?"})))
    assert refused.status == 400
