"""Which Rasa server answers a conversation's turn (api/services/rasa.py): the conversation's own server by
rendezvous hashing, the next one while a server refuses connections, and a turn that reached a server without
an answer is sent again to that server first (only it can recognise a turn it is still running)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from api.services.errors import RasaUnavailable
from api.services.rasa import DOWN_SECONDS, RasaServers

URLS = ["http://rasa-1:5005", "http://rasa-2:5005"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def request_to(behaviour: dict[str, type[Exception] | None], seen: list[str]):
    async def request(url: str) -> str:
        seen.append(url)
        error = behaviour.get(url)
        if error is not None:
            raise error("failed", request=httpx.Request("POST", url))
        return url

    return request


def test_each_conversation_has_its_own_server_and_both_servers_get_some():
    servers = RasaServers(URLS)
    owners = {servers.ranked(f"conversation-{i}")[0] for i in range(50)}
    assert owners == set(URLS)
    assert RasaServers(list(reversed(URLS))).ranked("c1") == servers.ranked("c1")  # every worker agrees


def test_a_server_that_refuses_is_skipped_until_it_has_had_time_to_come_back():
    clock = Clock()
    servers = RasaServers(URLS, clock=clock)
    own, other = servers.ranked("c1")
    seen: list[str] = []
    assert asyncio.run(servers.call("c1", request_to({own: httpx.ConnectError}, seen))) == other
    assert seen == [own, other]
    assert servers.ranked("c1") == [other, own]
    clock.now += DOWN_SECONDS + 1
    assert servers.ranked("c1") == [own, other]


def test_a_turn_that_timed_out_goes_back_to_the_server_that_took_it_even_when_its_own_server_is_back():
    clock = Clock()
    servers = RasaServers(URLS, clock=clock)
    own, other = servers.ranked("c1")
    seen: list[str] = []
    # Its own server is down: the other takes the turn and is too slow to answer in time.
    with pytest.raises(httpx.ReadTimeout):
        asyncio.run(servers.call("c1", request_to({own: httpx.ConnectError, other: httpx.ReadTimeout}, seen), turn="41"))
    clock.now += DOWN_SECONDS + 1  # its own server is back
    assert asyncio.run(servers.call("c1", request_to({}, seen), turn="41")) == other  # still running there
    assert asyncio.run(servers.call("c1", request_to({}, seen), turn="42")) == own  # the next turn: home again
    assert asyncio.run(servers.call("c1", request_to({}, seen), turn="41")) == own  # answered: forgotten


def test_when_the_server_that_took_the_turn_is_gone_another_takes_it():
    servers = RasaServers(URLS)
    own, other = servers.ranked("c1")
    seen: list[str] = []
    with pytest.raises(httpx.ReadTimeout):
        asyncio.run(servers.call("c1", request_to({own: httpx.ReadTimeout}, seen), turn="7"))
    assert asyncio.run(servers.call("c1", request_to({own: httpx.ConnectError}, seen), turn="7")) == other
    with pytest.raises(RasaUnavailable):
        asyncio.run(servers.call("c2", request_to(dict.fromkeys(URLS, httpx.ConnectError), seen)))
