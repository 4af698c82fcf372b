"""What the fault tests share: a service killed without warning (the supervisor restarts it), waiting until a
debtor's message is in the database (the moment to strike), and waiting for the service to be back."""

from __future__ import annotations

import asyncio
import os
import signal
import time

from sqlalchemy import create_engine, text

from scripts.stack import Stack


def kill(stack: Stack, name: str) -> None:
    """The process dies without warning (its whole process group, SIGKILL); the supervisor restarts it."""
    service = stack.service(name)
    os.killpg(service.process.pid, signal.SIGKILL)
    service.process.wait()


async def stored(database_url: str, address: str, inbound: int) -> None:
    """Waits until the conversation at `address` has `inbound` debtor messages in the database."""
    engine = create_engine(database_url)
    try:
        for _ in range(1000):
            with engine.connect() as db:
                count = db.execute(
                    text(
                        "select count(*) from messages m join conversations c on c.id = m.conversation_id "
                        "where c.channel_address = :a and m.direction = 'inbound'"
                    ),
                    {"a": address},
                ).scalar_one()
            if count >= inbound:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the message was not stored")
    finally:
        engine.dispose()


def back(stack: Stack, name: str, timeout: float = 240) -> None:
    """Waits for the supervisor to have the service up and ready again."""
    deadline = time.monotonic() + timeout
    while not stack.service(name).is_ready():
        assert time.monotonic() < deadline, f"{name} is not back after {timeout:.0f}s"
        time.sleep(0.5)
