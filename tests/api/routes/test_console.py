"""The agent console's API in process: sign-in, CSRF, the queue, claims, replies, agent actions, audit."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.websockets import WebSocketDisconnect

from api.core.config import get_settings
from api.db import session_scope
from api.models import Account, Agent, AuditEntry, Consent, Conversation, Creditor, Handoff, Message
from api.services import agents, handoffs
from api.services.errors import ConversationClosed
from api.services.router import ConversationRouter, find_or_create_conversation
from api.services.transport import Transports

ALWAYS_OPEN = {
    "timezone": "Europe/Paris",
    "weekly": {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
}
NEVER_OPEN = {"timezone": "Europe/Paris", "weekly": {}}
PASSWORD = "a-long-enough-password"


def set_hours(client, creditor_headers, agent_hours, review_disputes=False):
    body = {"agent_hours": agent_hours, "expected_wait_minutes": 10, "review_disputes": review_disputes}
    response = client.put("/api/v1/handoff-settings", json=body, headers=creditor_headers)
    assert response.status_code == 200, response.text


def new_agent(email: str, name: str = "Agent", creditor_ids: list[int] | None = None) -> int:
    """An agent of the demo creditor (or of `creditor_ids`)."""
    with session_scope() as session:
        served = creditor_ids or [session.scalar(select(Creditor.id).order_by(Creditor.id).limit(1))]
        return agents.create_agent(session, email=email, name=name, password=PASSWORD, creditor_ids=served).id


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/console/api/session", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"X-CSRF-Token": response.json()["csrf_token"]}


def conversation(channel: str = "webchat", address: str | None = None, reference: str | None = None) -> str:
    with session_scope() as session:
        creditor = session.scalars(select(Creditor)).one()
        row = Conversation(
            creditor_id=creditor.id, channel=channel, channel_address=address or f"session-{channel}-{id(object())}"
        )
        if reference:
            from api.models import Account

            account = session.scalar(select(Account).where(Account.reference == reference))
            row.account_id, row.verified_at, row.language = account.id, dt.datetime.now(dt.timezone.utc), account.language
        session.add(row)
        session.flush()
        return row.id


def hand_over(conversation_id: str, reason: str) -> None:
    with session_scope() as session:
        handoffs.request_handoff(session, session.get(Conversation, conversation_id), reason)


@pytest.fixture
def agent_client(client, creditor_headers):
    """The api with the team at work, and one signed-in agent (same client: cookies are kept)."""
    set_hours(client, creditor_headers, ALWAYS_OPEN)
    new_agent("alice@agency.example", "Alice")
    return client, sign_in(client, "alice@agency.example")


def test_every_console_endpoint_refuses_a_request_without_a_session(client):
    paths = {p: ops for p, ops in client.get("/openapi.json").json()["paths"].items() if p.startswith("/console/api")}
    checked = 0
    for template, operations in paths.items():
        path = re.sub(r"\{[^}]+\}", "x", template)
        for method in (m.upper() for m in operations):
            if (method, template) == ("POST", "/console/api/session"):
                continue  # signing in is the one door open without a session
            response = client.request(method, path, json={})
            assert response.status_code == 401, (method, path, response.status_code)
            checked += 1
    assert checked >= 14
    page = client.get("/console", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/console/login"
    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect("/console/ws", headers={"origin": "http://testserver"}) as socket,
    ):
        socket.receive_json()


def test_a_forged_or_expired_session_cookie_is_refused(client):
    new_agent("bob@agency.example")
    client.cookies.set("console_session", "not-a-real-token", path="/console")
    assert client.get("/console/api/queue").status_code == 401


def test_state_changing_requests_need_the_session_csrf_token(agent_client):
    client, csrf = agent_client
    conversation_id = conversation()
    hand_over(conversation_id, "request_human")
    assert client.post(f"/console/api/conversations/{conversation_id}/claim").status_code == 403
    assert (
        client.post(f"/console/api/conversations/{conversation_id}/claim", headers={"X-CSRF-Token": "wrong"}).status_code == 403
    )
    assert client.post(f"/console/api/conversations/{conversation_id}/claim", headers=csrf).status_code == 200


def test_sign_in_refuses_wrong_passwords_then_locks_for_a_while(client):
    new_agent("carol@agency.example")
    for _ in range(5):
        assert (
            client.post("/console/api/session", json={"email": "carol@agency.example", "password": "wrong-password!"}).status_code
            == 401
        )
    locked = client.post("/console/api/session", json={"email": "carol@agency.example", "password": PASSWORD})
    assert locked.status_code == 429
    # An unknown e-mail is refused the same way as a wrong password.
    unknown = client.post("/console/api/session", json={"email": "nobody@agency.example", "password": PASSWORD})
    assert unknown.status_code == 401 and unknown.json()["type"] == "urn:problem:invalid_credentials"
    # A form post from another site cannot sign in (no JSON without a CORS preflight).
    form = client.post("/console/api/session", data={"email": "carol@agency.example", "password": PASSWORD})
    assert form.status_code in (415, 422)


def test_passwords_are_stored_hashed_and_sign_out_ends_the_session(agent_client):
    client, csrf = agent_client
    with session_scope() as session:
        stored = session.scalar(select(Agent.password_hash).where(Agent.email == "alice@agency.example"))
    assert stored.startswith("$argon2") and PASSWORD not in stored
    assert client.get("/console/api/me").json()["agent"]["name"] == "Alice"
    assert client.delete("/console/api/session", headers=csrf).status_code == 204
    assert client.get("/console/api/me").status_code == 401


def test_a_second_agent_cannot_claim_a_claimed_conversation(client, creditor_headers):
    set_hours(client, creditor_headers, ALWAYS_OPEN)
    new_agent("first@agency.example", "First")
    new_agent("second@agency.example", "Second")
    conversation_id = conversation()
    hand_over(conversation_id, "request_human")
    first_csrf = sign_in(client, "first@agency.example")
    first_cookie = client.cookies.get("console_session")
    assert client.post(f"/console/api/conversations/{conversation_id}/claim", headers=first_csrf).status_code == 200
    client.cookies.clear()
    second_csrf = sign_in(client, "second@agency.example")
    refused = client.post(f"/console/api/conversations/{conversation_id}/claim", headers=second_csrf)
    assert refused.status_code == 409 and refused.json()["type"] == "urn:problem:claimed_by_another"
    # Nor can the second agent act on it.
    reply = client.post(f"/console/api/conversations/{conversation_id}/messages", json={"text": "Bonjour"}, headers=second_csrf)
    assert reply.status_code == 409 and reply.json()["type"] == "urn:problem:not_your_conversation"
    queue = client.get("/console/api/queue").json()["handoffs"]
    assert [(h["conversation_id"], h["claimed_by"]["name"]) for h in queue] == [(conversation_id, "First")]
    client.cookies.set("console_session", first_cookie, path="/console")
    assert client.post(f"/console/api/conversations/{conversation_id}/claim", headers=first_csrf).status_code == 200


def test_vulnerability_handoffs_sort_before_others(agent_client):
    client, _ = agent_client
    routine, complaint, distress = conversation(), conversation(), conversation()
    hand_over(routine, "request_human")
    hand_over(complaint, "complaint")
    hand_over(distress, "vulnerability")  # the last to arrive, the first to be seen
    queue = client.get("/console/api/queue").json()["handoffs"]
    assert [h["conversation_id"] for h in queue] == [distress, complaint, routine]
    assert [h["priority"] for h in queue] == [0, 1, 2]
    with session_scope() as session:
        states = {
            c.id: c.state
            for c in session.scalars(select(Conversation).where(Conversation.id.in_(queue and [routine, complaint, distress])))
        }
    assert set(states.values()) == {"waiting_for_agent"}


def test_an_agent_cannot_message_an_opted_out_number(agent_client):
    client, csrf = agent_client
    conversation_id = conversation("sms", "+33611111111")
    hand_over(conversation_id, "request_human")
    assert client.post(f"/console/api/conversations/{conversation_id}/claim", headers=csrf).status_code == 200
    with session_scope() as session:
        row = session.get(Conversation, conversation_id)
        session.add(Consent(conversation_id=row.id, channel="sms", channel_address=row.channel_address, kind="opt_out"))
    refused = client.post(f"/console/api/conversations/{conversation_id}/messages", json={"text": "Bonjour"}, headers=csrf)
    assert refused.status_code == 409 and refused.json()["type"] == "urn:problem:opted_out"
    with session_scope() as session:
        assert session.scalars(select(Message).where(Message.conversation_id == conversation_id)).all() == []
    view = client.get(f"/console/api/conversations/{conversation_id}").json()
    assert view["conversation"]["opted_out"] is True


def test_an_agent_reply_on_sms_goes_through_the_outbox(agent_client):
    client, csrf = agent_client
    conversation_id = conversation("sms", "+33622222222")
    hand_over(conversation_id, "request_human")
    client.post(f"/console/api/conversations/{conversation_id}/claim", headers=csrf)
    sent = client.post(
        f"/console/api/conversations/{conversation_id}/messages", json={"text": "Bonjour, je suis Alice."}, headers=csrf
    )
    assert sent.status_code == 201
    with session_scope() as session:
        (message,) = session.scalars(select(Message).where(Message.conversation_id == conversation_id)).all()
    assert (message.author, message.direction, message.status in ("pending", "sending", "sent", "failed")) == (
        "agent",
        "outbound",
        True,
    )


def test_outside_hours_the_handoff_is_queued_and_the_bot_keeps_the_conversation(client, creditor_headers, actions_headers):
    set_hours(client, creditor_headers, NEVER_OPEN)
    conversation_id = conversation()
    answer = client.post(
        f"/internal/v1/conversations/{conversation_id}/handoffs", json={"reason": "request_human"}, headers=actions_headers
    ).json()
    assert answer["open_now"] is False and answer["next_open_text"] == ""  # never open: no time to promise
    hours = {"timezone": "Europe/Paris", "weekly": {"mon": [["09:00", "18:00"]]}}
    set_hours(client, creditor_headers, hours)
    with session_scope() as session:
        team = handoffs.availability(
            session.scalars(select(Creditor)).one(), dt.datetime(2026, 12, 5, 20, 0, tzinfo=dt.timezone.utc)
        )
        assert team.open_now is False and team.next_open_at.isoformat() == "2026-12-07T09:00:00+01:00"
        assert session.get(Conversation, conversation_id).state == "bot"
        assert session.scalar(select(Handoff.status).where(Handoff.conversation_id == conversation_id)) == "open"


def test_messages_to_a_conversation_with_a_person_never_reach_the_bot(agent_client, monkeypatch):
    monkeypatch.setenv("RASA_URL", "http://127.0.0.1:9")  # were Rasa called, the reply would be the holding one
    get_settings.cache_clear()
    conversation_id = conversation()
    hand_over(conversation_id, "request_human")

    async def send(text):
        router = ConversationRouter(get_settings(), httpx.AsyncClient(timeout=2), Transports())
        return await router.handle_inbound(conversation_id, text)

    first, second = asyncio.run(send("Vous êtes là ?")), asyncio.run(send("Allô ?"))
    assert [r.author for r in first] == ["system"] and "conseiller" in first[0].text  # told once it was passed on
    assert second == []
    stop = asyncio.run(send("STOP"))
    assert "plus de messages" in stop[0].text
    with session_scope() as session:
        inbound = session.scalars(
            select(Message).where(Message.conversation_id == conversation_id, Message.direction == "inbound")
        ).all()
        assert [m.status for m in inbound] == ["for_agent"] * 3
        assert session.scalar(select(Consent.kind).where(Consent.channel_address == inbound[0].conversation_id)) is None
        assert [c.kind for c in session.scalars(select(Consent).where(Consent.conversation_id == conversation_id))] == ["opt_out"]


def test_a_commitment_beyond_the_policy_needs_a_reason_and_is_audited(agent_client):
    client, csrf = agent_client
    conversation_id = conversation(reference="CR-10002")
    hand_over(conversation_id, "outside_policy")
    client.post(f"/console/api/conversations/{conversation_id}/claim", headers=csrf)
    asked = {"kind": "instalments", "instalment_amount": "25,00", "frequency": "monthly"}
    refused = client.post(f"/console/api/conversations/{conversation_id}/commitments", json=asked, headers=csrf)
    assert refused.status_code == 422 and refused.json()["type"] == "urn:problem:outside_policy"
    assert "below_min_instalment" in refused.json()["reasons"] and refused.json()["counter_offer"]["total_text"]
    bad_amount = client.post(
        f"/console/api/conversations/{conversation_id}/commitments", json={**asked, "instalment_amount": "25,005"}, headers=csrf
    )
    assert bad_amount.status_code == 422
    granted = client.post(
        f"/console/api/conversations/{conversation_id}/commitments",
        json={
            **asked,
            "instalment_amount": "250,00",
            "outside_policy_reason": "Income documented: 250 € a month is what he can keep up.",
        },
        headers=csrf,
    )
    assert granted.status_code == 201, granted.text
    body = granted.json()
    assert (body["total_minor"], body["instalments"], body["outside_policy"]) == (125000, 5, False)
    beyond = client.post(
        f"/console/api/conversations/{conversation_id}/commitments",
        json={**asked, "outside_policy_reason": "Documented hardship; manager agreed to 25 € a month."},
        headers=csrf,
    )
    assert beyond.status_code == 201 and beyond.json()["outside_policy"] is True and beyond.json()["instalments"] == 50
    sent = client.post(
        f"/console/api/conversations/{conversation_id}/confirmations/{beyond.json()['confirmation_number']}/send", headers=csrf
    )
    assert sent.status_code == 201
    panel = client.get(f"/console/api/conversations/{conversation_id}").json()["account"]
    assert [c["status"] for c in panel["commitments"]] == ["replaced", "active"]
    assert panel["commitments"][-1]["outside_policy_reason"].startswith("Documented hardship")
    assert panel["confirmations"][-1]["sent_at"] is not None
    # The agent opens the document through the console (the debtor's link would ask for the date of birth).
    document = client.get(panel["confirmations"][-1]["document_url"])
    assert document.status_code == 200 and document.headers["content-type"] == "application/pdf"
    client.cookies.clear()
    assert client.get(panel["confirmations"][-1]["document_url"]).status_code == 401
    with session_scope() as session:
        agent_id = session.scalar(select(Agent.id).where(Agent.email == "alice@agency.example"))
        actions = [a.action for a in session.scalars(select(AuditEntry).where(AuditEntry.actor == f"agent:{agent_id}"))]
    assert {"handoff_claimed", "commitment_recorded", "confirmation_sent", "agent_signed_in"} <= set(actions)


def test_handing_back_while_rasa_is_down_keeps_the_conversation_with_the_agent(agent_client, monkeypatch):
    client, csrf = agent_client
    conversation_id = conversation(reference="CR-10001")
    hand_over(conversation_id, "request_human")
    client.post(f"/console/api/conversations/{conversation_id}/claim", headers=csrf)
    refused = client.post(f"/console/api/conversations/{conversation_id}/hand-back", json={}, headers=csrf)
    assert refused.status_code == 503
    with session_scope() as session:
        assert session.get(Conversation, conversation_id).state == "agent"
    closed = client.post(f"/console/api/conversations/{conversation_id}/close", json={"note": "settled by phone"}, headers=csrf)
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    assert client.get("/console/api/queue").json()["handoffs"] == []
    router = ConversationRouter(get_settings(), httpx.AsyncClient(timeout=2), Transports())
    with pytest.raises(ConversationClosed):  # nothing more is stored in a closed conversation
        router.store_inbound(conversation_id, "Encore une question", "late-message", "fr")
    with session_scope() as session:
        address = session.get(Conversation, conversation_id).channel_address
        assert session.scalar(select(Message.id).where(Message.channel_message_id == "late-message")) is None
    assert find_or_create_conversation("webchat", address) != conversation_id  # the debtor's next message opens a new one


def test_notes_disputes_and_vulnerability_from_the_console(agent_client, creditor_headers):
    client, csrf = agent_client
    conversation_id = conversation(reference="CR-20002")
    hand_over(conversation_id, "complaint")
    client.post(f"/console/api/conversations/{conversation_id}/claim", headers=csrf)
    assert (
        client.post(
            f"/console/api/conversations/{conversation_id}/notes",
            json={"text": "Called back, upset about a meter reading."},
            headers=csrf,
        ).status_code
        == 201
    )
    assert (
        client.post(
            f"/console/api/conversations/{conversation_id}/disputes", json={"reason": "wrong_amount"}, headers=csrf
        ).status_code
        == 201
    )
    assert client.post(f"/console/api/conversations/{conversation_id}/vulnerability", headers=csrf).status_code == 201
    view = client.get(f"/console/api/conversations/{conversation_id}").json()
    assert view["notes"][0]["agent"]["name"] == "Alice" and view["claimed_by_me"] is True
    account = client.get("/api/v1/accounts/CR-20002", headers=creditor_headers).json()
    assert account["status"] == "disputed" and account["vulnerable"] is True
    # The agent is the person: flagging does not queue the conversation a second time.
    assert len([h for h in account["handoffs"] if h["status"] != "closed"]) == 1
    # The debtor asks the agent for their data, then to restrict its use: recorded with the legal deadline.
    for kind in ("access", "restriction"):
        opened = client.post(f"/console/api/conversations/{conversation_id}/data-requests", json={"kind": kind}, headers=csrf)
        assert opened.status_code == 201, opened.text
    panel = client.get(f"/console/api/conversations/{conversation_id}").json()["account"]
    assert [(r["kind"], r["status"], r["requested_by"].startswith("agent:")) for r in panel["data_requests"]] == [
        ("access", "completed", True),
        ("restriction", "completed", True),
    ]
    assert panel["restricted"] is True and panel["data_requests"][0]["deadline"]


def test_a_debtor_who_insists_on_a_proposal_outside_the_policy_is_handed_over(client, creditor_headers, actions_headers):
    set_hours(client, creditor_headers, ALWAYS_OPEN)
    conversation_id = conversation(reference="CR-10002")
    below_minimum = {"kind": "instalments", "instalment_amount_minor": 2500}
    first = client.post(
        f"/internal/v1/conversations/{conversation_id}/offers", json=below_minimum, headers=actions_headers
    ).json()
    assert first["accepted"] is False and "handoff" not in first  # a counter-offer first: the bot's job
    again = client.post(
        f"/internal/v1/conversations/{conversation_id}/offers",
        json={**below_minimum, "instalment_amount_minor": 3000},
        headers=actions_headers,
    ).json()
    assert again["accepted"] is False and again["handoff"]["open_now"] is True
    with session_scope() as session:
        handoff = session.scalar(select(Handoff).where(Handoff.conversation_id == conversation_id))
        assert (handoff.reason, handoff.priority) == ("outside_policy", 2)
        assert handoff.summary["last_offer"]["status"] == "countered"
        assert session.get(Conversation, conversation_id).state == "waiting_for_agent"


def test_a_creditor_who_reviews_disputes_gets_each_one_in_the_queue(client, creditor_headers, actions_headers):
    set_hours(client, creditor_headers, ALWAYS_OPEN, review_disputes=True)
    conversation_id = conversation(reference="CR-10001")
    answer = client.post(
        f"/internal/v1/conversations/{conversation_id}/disputes", json={"reason": "wrong_amount"}, headers=actions_headers
    )
    assert answer.status_code == 201 and answer.json()["review"] is True
    with session_scope() as session:
        handoff = session.scalar(select(Handoff).where(Handoff.conversation_id == conversation_id))
        assert (handoff.reason, handoff.status) == ("dispute", "open")
        # A review, not a takeover: the bot keeps the conversation until an agent claims it.
        assert session.get(Conversation, conversation_id).state == "bot"
    set_hours(client, creditor_headers, ALWAYS_OPEN, review_disputes=False)
    other = conversation(reference="CR-20001")
    assert client.post(f"/internal/v1/conversations/{other}/disputes", json={}, headers=actions_headers).json()["review"] is False


def test_handoff_settings_are_validated(client, creditor_headers):
    bad = {"agent_hours": {"timezone": "Nowhere/City", "weekly": {}}, "expected_wait_minutes": 10, "review_disputes": False}
    response = client.put("/api/v1/handoff-settings", json=bad, headers=creditor_headers)
    assert response.status_code == 422 and "timezone" in response.text
    assert client.get("/api/v1/handoff-settings").status_code == 401
    default = client.get("/api/v1/handoff-settings", headers=creditor_headers).json()
    assert default["agent_hours"]["weekly"]["mon"] == [["09:00", "18:00"]] and "sat" not in default["agent_hours"]["weekly"]


def test_the_agents_cli_creates_an_agent_who_can_sign_in(client, monkeypatch, capsys):
    import io
    import sys

    from api import cli

    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    monkeypatch.setattr(
        sys, "argv", ["api.cli", "create-agent", "--email", "Dana@Agency.example", "--name", "Dana", "--password-stdin"]
    )
    cli.main()
    assert "created" in capsys.readouterr().out
    assert sign_in(client, "dana@agency.example")
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    monkeypatch.setattr(
        sys, "argv", ["api.cli", "create-agent", "--email", "eve@agency.example", "--name", "Eve", "--password-stdin"]
    )
    with pytest.raises(SystemExit, match="12 characters"):
        cli.main()


def test_an_agent_verifies_in_a_locked_conversation_and_can_lift_a_reference_lock(
    agent_client, creditor_headers, actions_headers
):
    client, csrf = agent_client
    settings = get_settings()

    # A guesser spent the reference's allowance across conversations; the last one, locked, was handed over.
    def guess(cid: str, day: int) -> None:
        body = {"reference": "CR-10001", "date_of_birth": f"1960-01-{day:02d}"}
        client.post(f"/internal/v1/conversations/{cid}/verify", json=body, headers=actions_headers)

    for day in range(1, settings.verification_max_failures_per_reference - 1):
        guess(conversation(address=f"guess-{day}"), day)
    cid = conversation(address="last")
    for day in (20, 21, 22):
        guess(cid, day)
    with session_scope() as session:
        assert session.get(Conversation, cid).locked_at is not None
    hand_over(cid, "verification_locked")
    assert client.post(f"/console/api/conversations/{cid}/claim", headers=csrf).status_code == 200

    right = {"reference": "CR-10001", "date_of_birth": "1985-03-12"}
    refused = client.post(f"/console/api/conversations/{cid}/verify", json=right, headers=csrf).json()
    # Agents are told why (the debtor's side never is), and may lift the lock once satisfied otherwise.
    assert refused == {"verified": False, "reference_locked": True}
    unlocked = client.post(f"/console/api/conversations/{cid}/unlock-verification", json={"reference": "cr-10001"}, headers=csrf)
    assert unlocked.json() == {"unlocked": True}
    assert client.post(f"/console/api/conversations/{cid}/verify", json=right, headers=csrf).json()["verified"] is True
    with session_scope() as session:
        actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert "verification_reference_locked" in actions and "verification_reference_unlocked" in actions
        assert session.get(Conversation, cid).locked_at is None


# A valid body for each console action on a conversation: the isolation test must reach the access check,
# not stop at the body's validation. A new endpoint without a body here fails the test until it is added.
BODIES = {
    "messages": {"text": "hello"},
    "notes": {"text": "a note"},
    "verify": {"reference": "CR-B-1", "date_of_birth": "1980-01-01"},
    "unlock-verification": {"reference": "CR-B-1"},
    "commitments": {"kind": "full"},
    "disputes": {},
    "resolution": {"outcome": "rejected", "explanation": "Checked and found correct."},
    "vulnerability-review": {"decision": "keep", "note": "Call only in the morning."},
    "data-requests": {"kind": "access"},
    "vulnerability": {},
    "hand-back": {},
    "close": {},
    "claim": None,
    "release": None,
    "send": None,
}


def test_an_agent_of_creditor_a_cannot_list_read_or_claim_creditor_b_conversations(agent_client):
    client, csrf = agent_client  # Alice serves the demo creditor only
    with session_scope() as session:
        other = Creditor(name="Other Creditor SA", api_key_hash="b" * 64)
        session.add(other)
        session.flush()
        account = Account(
            creditor_id=other.id, reference="CR-B-1", debtor_name="Bob", balance_minor=1000, due_date=dt.date(2026, 1, 1)
        )
        session.add(account)
        session.flush()
        conversation = Conversation(creditor_id=other.id, channel="sms", channel_address="+33600000999", account_id=account.id)
        session.add(conversation)
        session.flush()
        handoffs.request_handoff(session, conversation, "request_human")
        other_id, conversation_id = other.id, conversation.id
        bobs_agent = agents.create_agent(
            session, email="bob@other.example", name="Bob", password=PASSWORD, creditor_ids=[other_id]
        )
        assert agents.creditor_ids_of(session, bobs_agent) == [other_id]

    assert conversation_id not in [h["conversation_id"] for h in client.get("/console/api/queue").json()["handoffs"]]
    operations = client.get("/openapi.json").json()["paths"]
    checked = 0
    for template, methods in operations.items():
        if not template.startswith("/console/api/conversations/{conversation_id}"):
            continue
        last = template.rstrip("/").split("/")[-1]
        key = last if not last.startswith("{") else "conversation"
        path = template.replace("{conversation_id}", conversation_id).replace("{number}", "CONF-X").replace("{dispute_id}", "1")
        for method in methods:
            if key != "conversation":
                assert key in BODIES, f"add a valid body for {method.upper()} {template} to BODIES"
            body = BODIES.get(key)
            response = client.request(method.upper(), path, json=body, headers=csrf)
            assert response.status_code == 404, (method, template, response.status_code, response.text)
            checked += 1
    assert checked >= 15
    with session_scope() as session:
        handoff = session.scalar(select(Handoff).where(Handoff.conversation_id == conversation_id))
        assert handoff.status == "open" and handoff.claimed_by_agent_id is None
        assert session.scalar(select(Message.id).where(Message.conversation_id == conversation_id)) is None
    # Bob, who serves that creditor, sees it and can take it.
    bob = sign_in(client, "bob@other.example")
    assert conversation_id in [h["conversation_id"] for h in client.get("/console/api/queue").json()["handoffs"]]
    assert client.post(f"/console/api/conversations/{conversation_id}/claim", headers=bob).status_code == 200


def test_an_agent_serves_at_least_one_creditor(database):
    from api.services.errors import NoCreditor, UnknownCreditor

    with session_scope() as session, pytest.raises(NoCreditor):
        agents.create_agent(session, email="nobody@agency.example", name="N", password=PASSWORD, creditor_ids=[])
    with session_scope() as session, pytest.raises(UnknownCreditor):
        agents.create_agent(session, email="ghost@agency.example", name="G", password=PASSWORD, creditor_ids=[9999])
