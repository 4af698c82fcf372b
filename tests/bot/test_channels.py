"""Each turn once on a Rasa server: a message sent again while it is still being answered (the api timed out
and retried) waits for the first and gets its replies; the bot does not answer it twice."""

from __future__ import annotations

import asyncio

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.channels import _IN_FLIGHT, once_per_turn


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
