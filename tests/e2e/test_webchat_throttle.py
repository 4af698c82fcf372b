"""A client that opens web-chat session after session is refused: each new session would be a new
conversation with fresh verification tries. Only the api is needed (sessions are the api's own door)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import socketio

from scripts.stack import API_BIN, ROOT, Service, Stack, free_port

LIMIT = 5


@pytest.fixture(scope="module")
def api_url(tmp_path_factory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("throttle")
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite:///{workdir / 'throttle.db'}",
        "API_PORT": str(port),
        "WEBCHAT_SESSIONS_PER_CLIENT_PER_HOUR": str(LIMIT),
    }
    subprocess.run([sys.executable, "-m", "api.cli", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    api = Service(
        "api",
        [str(API_BIN / "uvicorn"), "api.main:app", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
        f"http://127.0.0.1:{port}/health",
        env,
        workdir / "api.log",
    )
    api.start()
    Stack(services=[api]).wait_ready([api], timeout=60)
    yield f"http://127.0.0.1:{port}"
    api.stop()


async def ask_for_a_session(url: str) -> tuple[str, object]:
    """One socket, one session_request: ('confirmed', id) or ('error', payload)."""
    client = socketio.AsyncClient()
    answer: asyncio.Future[tuple[str, object]] = asyncio.get_running_loop().create_future()
    client.on("session_confirm", lambda session_id: answer.done() or answer.set_result(("confirmed", session_id)))
    client.on("error", lambda payload: answer.done() or answer.set_result(("error", payload)))
    await client.connect(url, socketio_path="socket.io", transports=["websocket"])
    try:
        await client.emit("session_request", {"session_id": None})
        return await asyncio.wait_for(answer, 10)
    finally:
        await client.disconnect()


def test_a_client_opening_many_sessions_is_throttled(api_url):
    async def many() -> list[tuple[str, object]]:
        return [await ask_for_a_session(api_url) for _ in range(LIMIT + 3)]

    answers = asyncio.run(many())
    kinds = [kind for kind, _ in answers]
    assert kinds == ["confirmed"] * LIMIT + ["error"] * 3, answers
    assert all(payload["error"] == "rate_limited" for _, payload in answers[LIMIT:])


def test_an_oversized_packet_closes_the_socket_before_it_is_read(api_url):
    async def scenario() -> bool:
        client = socketio.AsyncClient()
        disconnected = asyncio.Event()
        client.on("disconnect", lambda *_: disconnected.set())
        await client.connect(api_url, socketio_path="socket.io", transports=["websocket"])
        await client.emit("user_uttered", {"message": "x" * 200_000})
        try:
            await asyncio.wait_for(disconnected.wait(), 10)
            return True
        except asyncio.TimeoutError:
            return False
        finally:
            await client.disconnect()

    assert asyncio.run(scenario())
