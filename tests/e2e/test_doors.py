"""The doors that are meant to be closed: every service on loopback, the action server only to Rasa."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

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
