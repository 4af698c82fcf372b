"""The action server's API: verification, offers within policy, commitment, written confirmation."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from api.core.config import get_settings
from api.db import session_scope
from api.models import Account, Conversation, Creditor


def new_conversation(address: str = "test-session-1") -> str:
    with session_scope() as session:
        creditor = session.query(Creditor).one()
        conversation = Conversation(creditor_id=creditor.id, channel="webchat", channel_address=address)
        session.add(conversation)
        session.flush()
        return conversation.id


@pytest.fixture
def conversation_id(client) -> str:
    return new_conversation()


def bot(client, headers, method, conversation_id, path, json=None):
    return client.request(method, f"/internal/v1/conversations/{conversation_id}{path}", json=json, headers=headers)


def verify(client, headers, conversation_id, **factors):
    body = {"reference": "CR-10001", **factors}
    return bot(client, headers, "POST", conversation_id, "/verify", body)


def test_internal_api_refuses_calls_without_the_actions_token(client, conversation_id):
    assert bot(client, {}, "GET", conversation_id, "/context").status_code == 401
    assert bot(client, {"X-Actions-Token": "nope"}, "GET", conversation_id, "/context").status_code == 401


def test_context_before_verification_discloses_no_account(client, actions_headers, conversation_id):
    context = bot(client, actions_headers, "GET", conversation_id, "/context").json()
    assert context["verified"] is False and context["account"] is None
    assert context["creditor_name"] == "Lumière Énergie SA"


def test_reference_plus_date_of_birth_verifies(client, actions_headers, conversation_id):
    result = verify(client, actions_headers, conversation_id, date_of_birth="1985-03-12").json()
    assert result["status"] == "verified"
    assert result["context"]["account"]["reference"] == "CR-10001"
    assert result["context"]["account"]["total_text"] == "400,00\u00a0€"


def test_the_postcode_alone_no_longer_verifies(client, actions_headers, conversation_id):
    # The right postcode, which is no longer a second factor: the field is ignored, the attempt fails.
    result = verify(client, actions_headers, conversation_id, postcode="75011").json()
    assert result["status"] == "failed" and result["context"]["account"] is None


def test_failures_do_not_say_which_factor_was_wrong(client, actions_headers, conversation_id):
    wrong_secret = verify(client, actions_headers, conversation_id, date_of_birth="1990-01-01").json()
    unknown_reference = bot(
        client, actions_headers, "POST", conversation_id, "/verify", {"reference": "CR-99999", "date_of_birth": "1985-03-12"}
    ).json()
    for result in (wrong_secret, unknown_reference):
        assert result["status"] == "failed" and result["context"]["account"] is None
    assert set(wrong_secret) == set(unknown_reference)
    # How many tries are left is never said: it helps a guesser more than a debtor.
    assert "attempts_left" not in wrong_secret


def test_three_failures_lock_the_conversation_and_ask_for_a_human(client, actions_headers, creditor_headers, conversation_id):
    results = [verify(client, actions_headers, conversation_id, date_of_birth="1990-01-01").json() for _ in range(3)]
    assert [r["status"] for r in results] == ["failed", "failed", "locked"]
    # Even the right answer is refused now.
    assert verify(client, actions_headers, conversation_id, date_of_birth="1985-03-12").status_code == 423
    context = bot(client, actions_headers, "GET", conversation_id, "/context").json()
    assert context["locked"] is True and context["account"] is None
    with session_scope() as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation.account_id is None


def test_offers_need_verification(client, actions_headers, conversation_id):
    response = bot(
        client, actions_headers, "POST", conversation_id, "/offers", {"kind": "instalments", "instalment_amount_minor": 5000}
    )
    assert response.status_code == 403


def test_below_minimum_proposal_gets_a_counter_offer_then_a_commitment_and_a_pdf(
    client, actions_headers, creditor_headers, conversation_id
):
    verify(client, actions_headers, conversation_id, date_of_birth="1985-03-12")
    counter = bot(
        client, actions_headers, "POST", conversation_id, "/offers", {"kind": "instalments", "instalment_amount_minor": 3000}
    ).json()
    assert counter["accepted"] is False
    assert "below_min_instalment" in counter["reasons"]
    # Fees are waived by the demo policy: 380,00 € in 50,00 € instalments = 7 × 50 + 30.
    amounts = [i["amount_minor"] for i in counter["schedule"]]
    assert amounts == [5000] * 7 + [3000]
    assert sum(amounts) == counter["total_minor"] == 38000

    # No commitment without a summary shown first.
    refused = bot(client, actions_headers, "POST", conversation_id, f"/offers/{counter['offer_id']}/accept", {})
    assert refused.status_code == 409

    summary = bot(client, actions_headers, "POST", conversation_id, f"/offers/{counter['offer_id']}/summary").json()
    assert summary["account_reference"] == "CR-10001"
    accepted = bot(
        client, actions_headers, "POST", conversation_id, f"/offers/{counter['offer_id']}/accept", {"agreed_summary": "..."}
    )
    assert accepted.status_code == 201
    result = accepted.json()

    account = client.get("/api/v1/accounts/CR-10001", headers=creditor_headers).json()
    (commitment,) = account["commitments"]
    assert commitment["reference"] == result["commitment_reference"]
    assert commitment["status"] == "active" and commitment["total_minor"] == 38000
    assert sum(i["amount_minor"] for i in commitment["instalments"]) == commitment["total_minor"]
    (confirmation,) = account["confirmations"]

    link = confirmation["document_url"].removeprefix("http://testserver")
    assert "Marie Dupont" not in client.get(link).text  # the link asks for the date of birth first
    pdf = client.post(link, data={"date_of_birth": "1985-03-12"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "CR-10001" in text and result["confirmation_number"] in text and "Marie Dupont" in text

    # Accepting twice records nothing more.
    again = bot(client, actions_headers, "POST", conversation_id, f"/offers/{counter['offer_id']}/accept", {})
    assert again.status_code == 409


def test_a_tampered_document_link_is_refused(client, actions_headers, creditor_headers, conversation_id):
    verify(client, actions_headers, conversation_id, date_of_birth="1985-03-12")
    offer = bot(client, actions_headers, "POST", conversation_id, "/offers", {"kind": "full"}).json()
    bot(client, actions_headers, "POST", conversation_id, f"/offers/{offer['offer_id']}/summary")
    bot(client, actions_headers, "POST", conversation_id, f"/offers/{offer['offer_id']}/accept", {})
    url = client.get("/api/v1/accounts/CR-10001", headers=creditor_headers).json()["confirmations"][0]["document_url"]
    path = url.removeprefix("http://testserver")
    tampered = path[:-3] + ("abc" if not path.endswith("abc") else "xyz")
    assert client.get(tampered).status_code == 403
    assert client.post(tampered, data={"date_of_birth": "1985-03-12"}).status_code == 403
    other_id_path = path.replace("/documents/", "/documents/0").replace(".pdf", "0.pdf", 1)
    assert client.get(other_id_path).status_code in (403, 404)


def test_a_dispute_pauses_collection(client, actions_headers, creditor_headers, conversation_id):
    verify(client, actions_headers, conversation_id, date_of_birth="1985-03-12")
    assert bot(client, actions_headers, "POST", conversation_id, "/disputes", {"reason": "wrong_amount"}).status_code == 201
    refused = bot(client, actions_headers, "POST", conversation_id, "/offers", {"kind": "full"})
    assert refused.status_code == 409 and refused.json()["type"] == "urn:problem:collection_paused"
    account = client.get("/api/v1/accounts/CR-10001", headers=creditor_headers).json()
    assert account["status"] == "disputed"
    assert [d["reason"] for d in account["disputes"]] == ["wrong_amount"]


def test_opt_out_and_signals_are_recorded(client, actions_headers, creditor_headers, conversation_id):
    verify(client, actions_headers, conversation_id, date_of_birth="1985-03-12")
    bot(client, actions_headers, "POST", conversation_id, "/signals", {"kind": "hardship", "confidence": 0.93})
    bot(client, actions_headers, "POST", conversation_id, "/opt-out")
    account = client.get("/api/v1/accounts/CR-10001", headers=creditor_headers).json()
    assert [(s["kind"], s["confidence"]) for s in account["signals"]] == [("hardship", 0.93)]
    assert [(c["channel"], c["kind"]) for c in account["consents"]] == [("webchat", "opt_out")]


def test_a_stop_in_the_web_chat_stops_sms_and_whatsapp_on_the_accounts_number_when_asked(
    client, actions_headers, creditor_headers, conversation_id
):
    from api.services import records

    path = "/opt-out/other-channels"
    # Before the check, which number to stop is unknown.
    assert bot(client, actions_headers, "POST", conversation_id, path, {"channels": ["sms"]}).status_code == 403
    verify(client, actions_headers, conversation_id, date_of_birth="1985-03-12")
    bot(client, actions_headers, "POST", conversation_id, "/opt-out")
    answer = bot(client, actions_headers, "POST", conversation_id, path, {"channels": ["sms", "whatsapp"]})
    assert answer.status_code == 201 and answer.json() == {"channels": ["sms", "whatsapp"]}
    account = client.get("/api/v1/accounts/CR-10001", headers=creditor_headers).json()
    assert sorted((c["channel"], c["kind"]) for c in account["consents"]) == [
        ("sms", "opt_out"),
        ("webchat", "opt_out"),
        ("whatsapp", "opt_out"),
    ]
    with session_scope() as session:  # what the contacts and the outbound writer read
        assert records.is_opted_out(session, "sms", account["phone"])
        assert records.is_opted_out(session, "whatsapp", account["phone"])
    assert bot(client, actions_headers, "POST", conversation_id, path, {"channels": ["webchat"]}).status_code == 422


def test_vulnerability_flags_the_account_hands_over_first_and_gives_support_resources(
    client, actions_headers, creditor_headers, conversation_id
):
    verify(client, actions_headers, conversation_id, date_of_birth="1985-03-12")
    bot(client, actions_headers, "POST", conversation_id, "/handoffs", {"reason": "request_human"})
    result = bot(client, actions_headers, "POST", conversation_id, "/vulnerability", {"confidence": 0.8}).json()
    assert any("3114" in line for line in result["support_resources"])
    account = client.get("/api/v1/accounts/CR-10001", headers=creditor_headers).json()
    assert account["vulnerable"] is True
    # Still one place in the queue for the conversation, raised to the most urgent reason.
    (handoff,) = account["handoffs"]
    assert (handoff["reason"], handoff["priority"]) == ("vulnerability", 0)
    # No collection until a person has reviewed the account.
    refused = bot(client, actions_headers, "POST", conversation_id, "/offers", {"kind": "full"})
    assert refused.status_code == 409 and refused.json()["type"] == "urn:problem:under_care"


def test_distress_said_before_verification_flags_the_account_it_turns_out_to_be(
    client, actions_headers, creditor_headers, conversation_id
):
    # Nothing pointed at an account yet: care is given, no account flagged.
    bot(client, actions_headers, "POST", conversation_id, "/vulnerability", {"confidence": 0.7})
    assert client.get("/api/v1/accounts/CR-10001", headers=creditor_headers).json()["vulnerable"] is False
    result = verify(client, actions_headers, conversation_id, date_of_birth="1985-03-12").json()
    assert result["context"]["slots"]["vulnerable"] is True
    account = client.get("/api/v1/accounts/CR-10001", headers=creditor_headers).json()
    assert account["vulnerable"] is True
    # What was said before the check is on the account now.
    assert [s["kind"] for s in account["signals"]] == ["vulnerability"]
    refused = bot(client, actions_headers, "POST", conversation_id, "/offers", {"kind": "full"})
    assert refused.json()["type"] == "urn:problem:under_care"


def test_distress_said_before_a_persons_care_review_does_not_flag_the_account_again(
    client, actions_headers, creditor_headers, conversation_id
):
    import datetime as dt

    bot(client, actions_headers, "POST", conversation_id, "/vulnerability", {"confidence": 0.7})
    with session_scope() as session:
        account = session.scalars(select(Account).where(Account.reference == "CR-10001")).one()
        account.care_reviewed_at = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)
    result = verify(client, actions_headers, conversation_id, date_of_birth="1985-03-12").json()
    assert result["context"]["slots"]["vulnerable"] is False


def test_a_complaint_is_recorded_and_handed_over(client, actions_headers, creditor_headers, conversation_id):
    verify(client, actions_headers, conversation_id, date_of_birth="1985-03-12")
    assert bot(client, actions_headers, "POST", conversation_id, "/complaints", {"confidence": 0.9}).status_code == 201
    account = client.get("/api/v1/accounts/CR-10001", headers=creditor_headers).json()
    assert [s["kind"] for s in account["signals"]] == ["complaint"]
    assert [h["reason"] for h in account["handoffs"]] == ["complaint"]


def test_a_payment_claim_pauses_reminders_until_checked(client, actions_headers, creditor_headers, conversation_id):
    verify(client, actions_headers, conversation_id, date_of_birth="1985-03-12")
    response = bot(
        client, actions_headers, "POST", conversation_id, "/payment-claims", {"paid_on": "2026-11-02", "means": "transfer"}
    )
    assert response.status_code == 201
    account = client.get("/api/v1/accounts/CR-10001", headers=creditor_headers).json()
    assert account["reminders_paused"] is True
    assert [(c["paid_on"], c["means"], c["status"]) for c in account["payment_claims"]] == [
        ("2026-11-02", "transfer", "to_check")
    ]


def test_a_payment_claimed_in_the_future_is_refused(client, actions_headers, conversation_id):
    verify(client, actions_headers, conversation_id, date_of_birth="1985-03-12")
    response = bot(client, actions_headers, "POST", conversation_id, "/payment-claims", {"paid_on": "2099-01-01"})
    assert response.status_code == 422


def test_contact_preferences_are_recorded(client, actions_headers, creditor_headers, conversation_id):
    verify(client, actions_headers, conversation_id, date_of_birth="1985-03-12")
    bot(client, actions_headers, "POST", conversation_id, "/preferences", {"channel": "email", "time_window": "evening"})
    account = client.get("/api/v1/accounts/CR-10001", headers=creditor_headers).json()
    assert [(p["channel"], p["time_window"]) for p in account["contact_preferences"]] == [("email", "evening")]


def test_a_new_plan_replaces_the_active_one(client, actions_headers, creditor_headers, conversation_id):
    verify(client, actions_headers, conversation_id, date_of_birth="1985-03-12")
    for amount in (10000, 5000):
        offer = bot(
            client,
            actions_headers,
            "POST",
            conversation_id,
            "/offers",
            {"kind": "instalments", "instalment_amount_minor": amount},
        ).json()
        bot(client, actions_headers, "POST", conversation_id, f"/offers/{offer['offer_id']}/summary")
        bot(client, actions_headers, "POST", conversation_id, f"/offers/{offer['offer_id']}/accept", {})
    commitments = client.get("/api/v1/accounts/CR-10001", headers=creditor_headers).json()["commitments"]
    assert [c["status"] for c in commitments] == ["replaced", "active"]
    assert [len(c["instalments"]) for c in commitments] == [4, 8]


def _guess_across_conversations(client, headers, reference: str, conversations: int) -> list[dict]:
    """A guesser who opens a new conversation after every two wrong dates of birth (never hitting the
    conversation's own lock), as a script opening web-chat sessions would."""
    answers = []
    for n in range(conversations):
        cid = new_conversation(f"guesser-{reference}-{n}")
        for day in (1, 2):
            body = {"reference": reference, "date_of_birth": f"19{50 + n}-01-{day:02d}"}
            answers.append(bot(client, headers, "POST", cid, "/verify", body).json())
    return answers


def test_failures_across_conversations_lock_the_reference_until_unlocked(client, actions_headers, creditor_headers):
    max_failures = get_settings().verification_max_failures_per_reference
    answers = _guess_across_conversations(client, actions_headers, "CR-10001", 4)
    assert len(answers) == 8 > max_failures
    assert {a["status"] for a in answers} == {"failed"}
    account = client.get("/api/v1/accounts/CR-10001", headers=creditor_headers).json()
    assert account["verification_locked"] is True

    # The real debtor, with the right date of birth, in a new conversation: refused, and told exactly
    # what a wrong date of birth is told (the guesser learns nothing from the lock).
    right = verify(client, actions_headers, new_conversation("the-debtor"), date_of_birth="1985-03-12").json()
    wrong = verify(client, actions_headers, new_conversation("a-guesser"), date_of_birth="1999-09-09").json()
    for answer in (right, wrong):
        answer["context"].pop("conversation_id")
    assert right == wrong and right["status"] == "failed"

    # An unknown reference locks the same way, so a lock does not tell that a reference exists.
    unknown = _guess_across_conversations(client, actions_headers, "CR-99999", 4)
    assert [a["status"] for a in unknown] == [a["status"] for a in answers]

    # The creditor lifts the lock (after checking the debtor otherwise): the right answer verifies again.
    unlocked = client.post("/api/v1/accounts/CR-10001/verification-unlock", headers=creditor_headers)
    assert unlocked.status_code == 200 and unlocked.json() == {"unlocked": True}
    assert client.get("/api/v1/accounts/CR-10001", headers=creditor_headers).json()["verification_locked"] is False
    assert (
        verify(client, actions_headers, new_conversation("after-unlock"), date_of_birth="1985-03-12").json()["status"]
        == "verified"
    )
    again = client.post("/api/v1/accounts/CR-10001/verification-unlock", headers=creditor_headers).json()
    assert again == {"unlocked": False}


def test_a_success_resets_the_count_of_failures_on_a_reference(client, actions_headers, creditor_headers):
    max_failures = get_settings().verification_max_failures_per_reference
    for n in range(max_failures - 1):
        verify(client, actions_headers, new_conversation(f"slip-{n}"), date_of_birth="1999-09-09")
    assert verify(client, actions_headers, new_conversation("ok"), date_of_birth="1985-03-12").json()["status"] == "verified"
    for n in range(max_failures - 1):
        verify(client, actions_headers, new_conversation(f"slip-again-{n}"), date_of_birth="1999-09-09")
    assert client.get("/api/v1/accounts/CR-10001", headers=creditor_headers).json()["verification_locked"] is False


def _confirmed_document_link(client, actions_headers, creditor_headers, conversation_id) -> str:
    verify(client, actions_headers, conversation_id, date_of_birth="1985-03-12")
    offer = bot(client, actions_headers, "POST", conversation_id, "/offers", {"kind": "full"}).json()
    bot(client, actions_headers, "POST", conversation_id, f"/offers/{offer['offer_id']}/summary")
    bot(client, actions_headers, "POST", conversation_id, f"/offers/{offer['offer_id']}/accept", {})
    account = client.get("/api/v1/accounts/CR-10001", headers=creditor_headers).json()
    return account["confirmations"][0]["document_url"].removeprefix("http://testserver")


def test_a_document_link_asks_for_the_date_of_birth_and_guesses_lock_it(
    client, actions_headers, creditor_headers, conversation_id
):
    link = _confirmed_document_link(client, actions_headers, creditor_headers, conversation_id)
    page = client.get(link)
    assert page.status_code == 200 and "date_of_birth" in page.text and "Marie Dupont" not in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    # A typed date in the French way is read as well as the browser's date field.
    assert client.post(link, data={"date_of_birth": "12/03/1985"}).headers["content-type"] == "application/pdf"

    # Someone who was forwarded the link guesses: refused without the document, then the lock shared with
    # the conversations stops even the right answer, until the reference is unlocked.
    limit = get_settings().verification_max_failures_per_reference
    for day in range(1, limit + 1):
        refused = client.post(link, data={"date_of_birth": f"1970-01-{day:02d}"})
        assert refused.status_code == 403 and "application/pdf" not in refused.headers["content-type"]
        assert "Marie Dupont" not in refused.text
    assert client.post(link, data={"date_of_birth": "1985-03-12"}).status_code == 403
    assert client.get("/api/v1/accounts/CR-10001", headers=creditor_headers).json()["verification_locked"] is True
    client.post("/api/v1/accounts/CR-10001/verification-unlock", headers=creditor_headers)
    assert client.post(link, data={"date_of_birth": "1985-03-12"}).status_code == 200


def test_the_creditor_reads_the_document_with_its_key(client, actions_headers, creditor_headers, conversation_id):
    _confirmed_document_link(client, actions_headers, creditor_headers, conversation_id)
    confirmation = client.get("/api/v1/accounts/CR-10001", headers=creditor_headers).json()["confirmations"][0]
    path = confirmation["pdf_url"].removeprefix("http://testserver")
    assert client.get(path).status_code == 401
    pdf = client.get(path, headers=creditor_headers)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert client.get(path.replace(confirmation["number"], "NOPE"), headers=creditor_headers).status_code == 404


def test_a_second_creditors_debtor_verifies_on_that_creditors_web_chat(client, actions_headers):
    """The page names its creditor (customData.creditor): the conversation is that creditor's, so its debtors
    verify; a page naming no known creditor gets the deployment's first one."""
    import datetime as dt

    from api.db import session_scope
    from api.models import Account, Conversation, Creditor
    from api.services.router import find_or_create_conversation

    with session_scope() as session:
        other = Creditor(name="Eau du Sud SA", api_key_hash="c" * 64)
        session.add(other)
        session.flush()
        session.add(
            Account(
                creditor_id=other.id,
                reference="HX482913",
                debtor_name="Léa Martin",
                balance_minor=9000,
                due_date=dt.date(2026, 10, 1),
                date_of_birth=dt.date(1991, 7, 14),
            )
        )
        other_id = other.id
    conversation_id = find_or_create_conversation("webchat", "page-of-eau-du-sud", other_id)
    answer = client.post(
        f"/internal/v1/conversations/{conversation_id}/verify",
        json={"reference": "HX482913", "date_of_birth": "1991-07-14"},
        headers=actions_headers,
    )
    assert answer.json()["status"] == "verified"
    unknown = find_or_create_conversation("webchat", "page-naming-nobody", 999)
    with session_scope() as session:
        assert session.get(Conversation, conversation_id).creditor_id == other_id
        assert session.get(Conversation, unknown).creditor_id != other_id


def test_strangers_naming_a_reference_can_pause_it_only_a_few_times_a_week(client, actions_headers, creditor_headers):
    """Distress before verification flags the named account (a flag only protects); once a person has cleared
    it, a stranger cannot pause the account again and again: past the weekly allowance, the account waits for
    a verified conversation. Every such conversation still gets care and a person."""
    from api.services.records import UNVERIFIED_FLAGS_PER_WEEK

    def stranger_in_distress(n: int) -> dict:
        conversation_id = new_conversation(f"stranger-{n}")
        answer = bot(client, actions_headers, "POST", conversation_id, "/vulnerability", {"claimed_reference": "CR-10002"})
        assert answer.status_code == 201, answer.text
        return answer.json()

    def flagged() -> bool:
        return client.get("/api/v1/accounts/CR-10002", headers=creditor_headers).json()["vulnerable"]

    for n in range(UNVERIFIED_FLAGS_PER_WEEK):
        assert stranger_in_distress(n)["support_resources"]
        assert flagged()
        with session_scope() as session:  # a person reviews it and clears it
            session.scalar(select(Account).where(Account.reference == "CR-10002")).vulnerable = False
    answer = stranger_in_distress(99)
    assert answer["support_resources"]  # care is still given
    assert not flagged()
    # A verified debtor's distress always flags their account.
    conversation_id = new_conversation("the-debtor")
    verified = bot(
        client, actions_headers, "POST", conversation_id, "/verify", {"reference": "CR-10002", "date_of_birth": "1972-11-02"}
    )
    assert verified.json()["status"] == "verified"
    assert bot(client, actions_headers, "POST", conversation_id, "/vulnerability", {}).status_code == 201
    assert flagged()
