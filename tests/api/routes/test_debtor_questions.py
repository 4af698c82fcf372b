"""The debtor's questions (services/debtor_questions.py): answered from the account's real data, the file's only
to a verified debtor."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.api.routes.test_bot import bot, new_conversation, verify


@pytest.fixture
def conversation_id(client) -> str:
    return new_conversation("questions-session")


def agree_to_a_plan(client, headers, conversation_id) -> dict:
    """380,00 € in instalments of 100,00 € (the demo waives the fees): summary shown, then agreed."""
    offer = bot(
        client, headers, "POST", conversation_id, "/offers", {"kind": "instalments", "instalment_amount_minor": 10000}
    ).json()
    bot(client, headers, "POST", conversation_id, f"/offers/{offer['offer_id']}/summary")
    return bot(client, headers, "POST", conversation_id, f"/offers/{offer['offer_id']}/accept", {"agreed_summary": "…"}).json()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/plan"),
        ("GET", "/statement"),
        ("POST", "/confirmation-copy"),
        ("POST", "/original-document"),
        ("GET", "/missed-payment-rules"),
    ],
)
def test_the_files_questions_are_answered_only_once_verified(client, actions_headers, conversation_id, method, path):
    refused = bot(client, actions_headers, method, conversation_id, path)
    assert refused.status_code == 403 and refused.json()["type"] == "urn:problem:not_verified"


def test_the_plan_as_it_stands_with_the_next_instalment_and_what_is_left(
    client, actions_headers, creditor_headers, conversation_id
):
    verify(client, actions_headers, conversation_id, date_of_birth="1985-03-12")
    assert bot(client, actions_headers, "GET", conversation_id, "/plan").json() == {
        "has_plan": False,
        "total_text": "400,00\u00a0€",
        "commitment_reference": None,
        "schedule_text": None,
        "next_due_text": None,
        "instalments_left": None,
        "left_text": None,
    }
    agreed = agree_to_a_plan(client, actions_headers, conversation_id)
    account = client.get("/api/v1/accounts/CR-10001", headers=creditor_headers).json()
    first = account["commitments"][0]["instalments"][0]
    paid = client.post(
        "/api/v1/payments",
        headers=creditor_headers,
        json={
            "reference": "CR-10001",
            "amount_minor": first["amount_minor"],
            "currency": "EUR",
            "paid_at": dt.datetime.now(dt.timezone.utc).isoformat(),
            "method": "transfer",
            "external_id": "pay-questions-1",
        },
    )
    assert paid.status_code == 201, paid.text
    plan = bot(client, actions_headers, "GET", conversation_id, "/plan").json()
    assert plan["has_plan"] is True and plan["commitment_reference"] == agreed["commitment_reference"]
    # 380,00 € in 4 instalments (3 × 100 + 80), the first one paid.
    assert plan["instalments_left"] == 3
    assert plan["left_text"] == "280,00\u00a0€"
    second = account["commitments"][0]["instalments"][1]
    assert plan["next_due_text"].endswith(": 100,00\u00a0€") and second["due_date"][:4] in plan["next_due_text"]


def test_a_statement_lists_the_payments_received_newest_first(client, actions_headers, creditor_headers, conversation_id):
    verify(client, actions_headers, conversation_id, date_of_birth="1985-03-12")
    empty = bot(client, actions_headers, "GET", conversation_id, "/statement").json()
    assert (empty["payments_count"], empty["payments_text"], empty["paid_text"]) == (0, "", "0,00\u00a0€")
    for n, (day, amount, method) in enumerate([("2026-11-02", 5000, "card"), ("2026-11-20", 2500, "transfer")]):
        client.post(
            "/api/v1/payments",
            headers=creditor_headers,
            json={
                "reference": "CR-10001",
                "amount_minor": amount,
                "currency": "EUR",
                "paid_at": f"{day}T12:00:00+01:00",
                "method": method,
                "external_id": f"statement-{n}",
            },
        )
    statement = bot(client, actions_headers, "GET", conversation_id, "/statement").json()
    assert statement["payments_count"] == 2 and statement["earlier_count"] == 0
    assert (
        statement["payments_text"]
        == "• 20 novembre 2026 : 25,00\u00a0€ (virement)\n• 2 novembre 2026 : 50,00\u00a0€ (carte bancaire)"
    )
    assert statement["paid_text"] == "75,00\u00a0€"
    assert statement["total_text"] == "325,00\u00a0€"


def test_the_written_confirmation_again_behind_a_fresh_link(client, actions_headers, conversation_id):
    verify(client, actions_headers, conversation_id, date_of_birth="1985-03-12")
    none_yet = bot(client, actions_headers, "POST", conversation_id, "/confirmation-copy")
    assert none_yet.status_code == 404
    agreed = agree_to_a_plan(client, actions_headers, conversation_id)
    copy = bot(client, actions_headers, "POST", conversation_id, "/confirmation-copy").json()
    assert copy["confirmation_number"] == agreed["confirmation_number"]
    link = copy["document_url"].removeprefix("http://testserver")
    pdf = client.post(link, data={"date_of_birth": "1985-03-12"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"


def test_a_copy_of_the_original_document_is_queued_for_a_person_who_sends_it(
    client, actions_headers, creditor_headers, conversation_id
):
    verify(client, actions_headers, conversation_id, date_of_birth="1985-03-12")
    answer = bot(client, actions_headers, "POST", conversation_id, "/original-document")
    assert answer.status_code == 201
    body = answer.json()
    assert body["debt_origin"] and body["principal_text"].endswith("€")
    (handoff,) = client.get("/api/v1/accounts/CR-10001", headers=creditor_headers).json()["handoffs"]
    assert handoff["reason"] == "document_request"


def test_what_a_missed_instalment_does_follows_the_creditors_settings(client, actions_headers, creditor_headers, conversation_id):
    verify(client, actions_headers, conversation_id, date_of_birth="1985-03-12")
    assert bot(client, actions_headers, "GET", conversation_id, "/missed-payment-rules").json() == {
        "grace_days": 5,
        "reminder_days_after": 2,
        "on_miss": "move_to_end",
        "break_after": 2,
    }
    settings = client.get("/api/v1/follow-through", headers=creditor_headers).json()
    changed = client.put(
        "/api/v1/follow-through",
        headers=creditor_headers,
        json={
            **settings,
            "grace_days": 10,
            "grace_reminder_days_after": 3,
            "on_miss": "keep",
            "break_after_consecutive_misses": 3,
        },
    )
    assert changed.status_code == 200, changed.text
    rules = bot(client, actions_headers, "GET", conversation_id, "/missed-payment-rules").json()
    assert (rules["grace_days"], rules["on_miss"], rules["break_after"]) == (10, "keep", 3)


def test_our_contact_details_and_where_to_complain_need_no_verification(client, actions_headers, conversation_id):
    details = bot(client, actions_headers, "GET", conversation_id, "/contact-details").json()
    assert details["collector_address"] and details["collector_phone"] and details["collector_email"]
    assert details["hours_text"] == "lundi – vendredi : 09:00–18:00 (Europe/Paris)"
    assert details["creditor_name"] == "Lumière Énergie SA"
    escalation = bot(client, actions_headers, "GET", conversation_id, "/complaint-escalation").json()
    assert escalation["configured"] is True
    assert "energie-mediateur.fr" in escalation["escalation_text"]


def test_the_creditor_sets_what_debtors_are_told_and_the_assistant_says_it(
    client, actions_headers, creditor_headers, conversation_id
):
    current = client.get("/api/v1/debtor-information", headers=creditor_headers).json()
    assert "energie-mediateur.fr" in current["complaint_escalation"]["fr"][0]
    lines = {"fr": ["Médiateur de l'assurance, www.mediation-assurance.org"], "en": ["The insurance mediator"]}
    changed = client.put("/api/v1/debtor-information", headers=creditor_headers, json={**current, "complaint_escalation": lines})
    assert changed.status_code == 200 and changed.json()["complaint_escalation"] == lines
    escalation = bot(client, actions_headers, "GET", conversation_id, "/complaint-escalation").json()
    assert escalation["escalation_text"] == "• Médiateur de l'assurance, www.mediation-assurance.org"
    too_many = client.put(
        "/api/v1/debtor-information", headers=creditor_headers, json={**current, "complaint_escalation": {"fr": ["x"] * 9}}
    )
    assert too_many.status_code == 422
    assert client.get("/api/v1/debtor-information").status_code == 401
