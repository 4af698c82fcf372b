"""The doors that are meant to be closed: every service on loopback, the action server only to Rasa, a
web-chat session only to the socket it was issued to."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.e2e.webchat_client import WebChatDebtor

LISTEN = "0A"


def listening_addresses(port: int) -> set[str]:
    """The local addresses a socket listens on for this port, read from the kernel's tables."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].split(":")
            if fields[3] == LISTEN and int(port_hex, 16) == port and len(address) == width:
                if width == 8:
                    found.add(socket.inet_ntop(socket.AF_INET, bytes.fromhex(address)[::-1]))
                else:
                    words = bytes.fromhex(address)
                    raw = b"".join(words[i : i + 4][::-1] for i in range(0, 16, 4))
                    found.add(socket.inet_ntop(socket.AF_INET6, raw))
    return found


def test_every_service_listens_on_loopback_only(stack):
    ports = {"api": stack.api_port, "rasa": stack.rasa_port, "actions": stack.actions_port, "twilio-fake": stack.twilio_port}
    for name, port in ports.items():
        addresses = listening_addresses(port)
        assert addresses, f"{name} is not listening on {port}"
        assert addresses <= {"127.0.0.1", "::1"}, f"{name} listens on {addresses}"


@pytest.mark.parametrize("headers", [{}, {"X-Action-Server-Token": "guessed"}, {"X-Actions-Token": "dev-actions-token"}])
def test_the_action_server_refuses_a_request_without_its_secret(stack, headers):
    url = f"http://127.0.0.1:{stack.actions_port}"
    # A forged call for some conversation: nothing runs, nothing of the conversation (or the request) comes back.
    forged = {
        "next_action": "action_tell_balance",
        "sender_id": "a-conversation-id-read-in-a-log",
        "tracker": {"sender_id": "a-conversation-id-read-in-a-log", "slots": {}, "latest_message": {}, "events": []},
        "domain": {},
        "version": "3.6.2",
    }
    answer = httpx.post(f"{url}/webhook", json=forged, headers=headers, timeout=10)
    assert answer.status_code == 401 and answer.json() == {"error": "unauthorised"}
    assert httpx.get(f"{url}/actions", headers=headers, timeout=10).status_code == 401
    # Only the health check answers without it, and says nothing more than that.
    assert httpx.get(f"{url}/health", timeout=10).json() == {"status": "ok"}


def messages_at(stack, address: str) -> int:
    with create_engine(stack.database_url).connect() as db:
        return db.execute(
            text(
                "select count(*) from messages m join conversations c on c.id = m.conversation_id "
                "where c.channel = 'webchat' and c.channel_address = :a"
            ),
            {"a": address},
        ).scalar_one()


def test_a_second_socket_naming_a_live_session_gets_nothing_of_it(stack):
    async def scenario() -> None:
        async with WebChatDebtor(stack.api_url, "fr") as owner:
            await owner.say("Bonjour")
            before = messages_at(stack, owner.address)
            async with WebChatDebtor(stack.api_url, "fr", session_id=owner.session_id) as intruder:
                # The server gave the intruder a session of its own, not the one it named.
                assert intruder.session_id != owner.session_id
                # Naming the owner's session in a message posts into the intruder's own conversation.
                await intruder.say("Bonjour, je voudrais connaître le solde", session_id=owner.session_id)
                assert messages_at(stack, owner.address) == before
                assert messages_at(stack, intruder.address) >= 2
                # The owner goes on talking; the intruder hears none of it.
                assert await owner.say("Qui êtes-vous ?")
                assert await intruder.replies_so_far() == []

    asyncio.run(scenario())


def test_a_made_up_session_id_gets_a_fresh_session_and_a_reload_resumes_its_own(stack):
    async def scenario() -> None:
        async with WebChatDebtor(stack.api_url, "fr", session_id="0123456789abcdef0123") as guesser:
            assert guesser.session_id != "0123456789abcdef0123"
        async with WebChatDebtor(stack.api_url, "fr") as debtor:
            await debtor.say("Bonjour")
            session_id, address = debtor.session_id, debtor.address
        # The page is reloaded: the widget names the session it was given, and gets its conversation back.
        async with WebChatDebtor(stack.api_url, "fr", session_id=session_id) as reloaded:
            assert reloaded.session_id == session_id
            await reloaded.say("Merci")
        with create_engine(stack.database_url).connect() as db:
            conversations = db.execute(
                text("select count(*) from conversations where channel_address = :a"), {"a": address}
            ).scalar_one()
        assert conversations == 1 and session_id not in address

    asyncio.run(scenario())


def test_rasa_runs_with_its_telemetry_off(stack):
    for name in ("rasa", "actions"):
        environ = Path(f"/proc/{stack.service(name).process.pid}/environ").read_bytes().split(b"\0")
        assert b"RASA_TELEMETRY_ENABLED=false" in environ, name


def test_rasas_http_api_takes_only_tokens_signed_by_the_api_and_no_secret_is_on_the_command_line(stack, tmp_path):
    from api.core.rasa_auth import bearer, ensure_key_pair

    status = f"{stack.rasa_url}/status"
    assert httpx.get(status, timeout=10).status_code == 401
    assert httpx.get(status, params={"token": "dev-rasa-token"}, timeout=10).status_code == 401
    stranger = tmp_path / "stranger.pem"
    ensure_key_pair(stranger)
    assert httpx.get(status, headers=bearer(stranger), timeout=10).status_code == 401
    ours = Path(stack.service("rasa").env["RASA_JWT_PRIVATE_KEY_FILE"])
    assert httpx.get(status, headers=bearer(ours), timeout=10).status_code == 200
    command_line = Path(f"/proc/{stack.service('rasa').process.pid}/cmdline").read_bytes()
    assert b"BEGIN PUBLIC KEY" in command_line and b"PRIVATE" not in command_line and b"token" not in command_line
