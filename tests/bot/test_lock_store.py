"""Rasa's lock store when several Rasa servers share Redis (bot/lock_store.py): with Redis away (refused, or
killed in the middle of a turn) a turn takes this server's own lock instead of failing."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from rasa.core.lock_store import InMemoryLockStore
from rasa.utils.endpoints import EndpointConfig

from bot.lock_store import ConfiguredLockStore, RedisOrLocalLockStore


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_store_is_chosen_by_the_url():
    assert isinstance(ConfiguredLockStore(EndpointConfig(url="")), InMemoryLockStore)
    assert isinstance(ConfiguredLockStore(EndpointConfig(url="redis://127.0.0.1:6390/3")), RedisOrLocalLockStore)


def test_with_redis_away_turns_take_this_servers_lock_one_at_a_time():
    store = RedisOrLocalLockStore(host="127.0.0.1", port=_free_port(), db=1, key_prefix="rasa")
    order: list[str] = []

    async def turn(name: str) -> None:
        async with store.lock("c1", wait_time_in_seconds=0.01):
            order.append(f"{name} in")
            await asyncio.sleep(0.05)
            order.append(f"{name} out")

    async def scenario() -> None:
        await asyncio.gather(turn("a"), turn("b"))

    asyncio.run(scenario())
    assert order in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"])


def test_a_turn_body_that_fails_still_fails():
    store = RedisOrLocalLockStore(host="127.0.0.1", port=_free_port(), db=1, key_prefix="rasa")

    async def scenario() -> None:
        async with store.lock("c1"):
            raise ValueError("the bot's own error")

    with pytest.raises(ValueError, match="the bot's own error"):
        asyncio.run(scenario())


@pytest.fixture
def redis_server(tmp_path) -> Iterator[tuple[subprocess.Popen, RedisOrLocalLockStore]]:
    """A real redis-server on a free port, and a lock store on it."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        store = RedisOrLocalLockStore(host="127.0.0.1", port=port, db=1, key_prefix="rasa")
        deadline = time.monotonic() + 10
        while True:
            try:
                store.red.ping()
                break
            except Exception:  # noqa: BLE001 - starting
                assert time.monotonic() < deadline
                time.sleep(0.05)
        yield server, store
    finally:
        server.kill()
        server.wait()


def test_redis_killed_while_a_turn_holds_its_lock_the_turn_ends_and_the_next_goes_on(redis_server):
    server, store = redis_server

    async def scenario() -> list[str]:
        said = []
        async with store.lock("c1"):
            assert store.red.exists("rasa:lock:c1")  # the ticket is in Redis
            server.kill()
            server.wait()
            said.append("first")
        async with store.lock("c1"):
            said.append("second")
        return said

    assert asyncio.run(scenario()) == ["first", "second"]


def test_a_turn_given_up_while_waiting_leaves_no_ticket_behind(redis_server):
    """A turn waiting for the lock is cancelled (the api timed out and will send it again): its ticket goes, so
    the next attempt waits only for the turns really in progress, not for every attempt given up before it."""
    _, store = redis_server

    async def enter() -> None:
        async with store.lock("c1", wait_time_in_seconds=0.01):
            pass

    async def scenario() -> int:
        async with store.lock("c1", wait_time_in_seconds=0.01):  # a turn in progress
            waiting = asyncio.create_task(enter())
            await asyncio.sleep(0.1)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            lock = store.get_lock("c1")
            return len(lock.tickets) if lock else 0

    assert asyncio.run(scenario()) == 1  # only the turn in progress
    assert store.get_lock("c1") is None  # and none once it is done
