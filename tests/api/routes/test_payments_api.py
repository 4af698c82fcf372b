"""The creditor's payments API (POST /api/v1/payments) and what the account view shows of payments.

(Named test_payments_api.py: tests/api/services/test_payments.py has the other basename, and the test
folders are not packages, so pytest cannot collect two modules of the same name.)
"""

from __future__ import annotations

from sqlalchemy import select

from api.db import session_scope
from api.deps import hash_api_key
from api.models import Account, Creditor
from tests.api_fixtures import make_commitment

PAYMENT = {
    "reference": "CR-10001",
    "amount_minor": 10_000,
    "currency": "EUR",
    "paid_at": "2026-11-20T10:30:00+01:00",
    "method": "transfer",
    "external_id": "bank-2026-0001",
}


def pay(client, headers, **changes):
    return client.post("/api/v1/payments", json={**PAYMENT, **changes}, headers=headers)


def account_view(client, headers, reference="CR-10001"):
    return client.get(f"/api/v1/accounts/{reference}", headers=headers).json()


def test_a_payment_is_recorded_with_201_and_the_same_external_id_again_answers_200_with_the_first_result(
    client, creditor_headers
):
    first = pay(client, creditor_headers)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["external_id"] == "bank-2026-0001" and body["reference"] == "CR-10001"
    assert body["amount_minor"] == 10_000 and body["currency"] == "EUR" and body["method"] == "transfer"
    assert body["paid_at"] in ("2026-11-20T09:30:00Z", "2026-11-20T09:30:00+00:00")
    assert body["allocations"] == [
        {
            "kind": "balance",
            "amount_minor": 10_000,
            "instalment_id": None,
            "commitment_reference": None,
            "instalment_sequence": None,
            "instalment_due_date": None,
        }
    ]
    before = account_view(client, creditor_headers)

    again = pay(client, creditor_headers)
    assert again.status_code == 200
    assert again.json() == body
    after = account_view(client, creditor_headers)
    assert after["balance_minor"] == before["balance_minor"] == 38_000 - 10_000
    assert after["payments"] == before["payments"] and len(after["payments"]) == 1


def test_a_different_payment_under_the_same_external_id_is_a_409_and_changes_nothing(client, creditor_headers):
    assert pay(client, creditor_headers).status_code == 201
    for change in ({"amount_minor": 12_000}, {"reference": "CR-10002"}, {"method": "card"}):
        response = pay(client, creditor_headers, **change)
        assert response.status_code == 409
        assert response.json()["type"] == "urn:problem:payment_conflict"
    assert account_view(client, creditor_headers)["balance_minor"] == 28_000
    assert account_view(client, creditor_headers, "CR-10002")["payments"] == []


def test_another_currency_than_the_accounts_is_a_422(client, creditor_headers):
    response = pay(client, creditor_headers, currency="GBP")
    assert response.status_code == 422
    assert response.json()["type"] == "urn:problem:currency_mismatch"
    assert account_view(client, creditor_headers)["payments"] == []


def test_malformed_payments_get_422_naming_the_field(client, creditor_headers):
    for field, value in (
        ("amount_minor", 0),
        ("amount_minor", 12.5),
        ("amount_minor", "100"),
        ("paid_at", "2026-11-20T10:30:00"),  # no offset: when was that?
        ("paid_at", "yesterday"),
        ("method", "bitcoin"),
        ("currency", "EURO"),
        ("external_id", ""),
    ):
        response = pay(client, creditor_headers, **{field: value})
        assert response.status_code == 422, (field, value)
        assert any(error["loc"][-1] == field for error in response.json()["detail"]), (field, value)
    assert pay(client, creditor_headers, note="unexpected").status_code == 422
    assert account_view(client, creditor_headers)["payments"] == []


def test_an_unknown_reference_is_a_404(client, creditor_headers):
    response = pay(client, creditor_headers, reference="CR-99999")
    assert response.status_code == 404
    assert response.json()["type"] == "urn:problem:unknown_account"


def test_another_creditor_cannot_see_or_pay_into_the_account(client, creditor_headers):
    with session_scope() as session:
        session.add(Creditor(name="Autre Énergie", api_key_hash=hash_api_key("other-creditor-key")))
    assert pay(client, {"X-API-Key": "other-creditor-key"}).status_code == 404
    assert pay(client, {"X-API-Key": "wrong-key"}).status_code == 401
    assert pay(client, {}).status_code == 401
    assert account_view(client, creditor_headers)["payments"] == []


def test_the_account_view_shows_payments_allocations_paid_amounts_and_credit_and_keeps_its_fields(
    client, creditor_headers, actions_headers
):
    offer = make_commitment(client, actions_headers, {"kind": "instalments", "instalment_count": 3})
    first = offer["schedule"][0]["amount_minor"]
    assert pay(client, creditor_headers, amount_minor=first + 500).status_code == 201
    view = account_view(client, creditor_headers)
    # Every field the view had before payments is still there.
    assert {
        "reference",
        "debtor_name",
        "balance_minor",
        "fees_minor",
        "status",
        "verification_locked",
        "conversations",
        "signals",
        "commitments",
        "confirmations",
        "disputes",
        "consents",
        "handoffs",
        "payment_claims",
        "contact_preferences",
        "delivery_failures",
    } <= set(view)
    assert view["balance_minor"] == 38_000 - first - 500 and view["credit_minor"] == 0
    (commitment,) = view["commitments"]
    assert [(i["paid_minor"], i["status"]) for i in commitment["instalments"]] == [(first, "paid"), (500, "due"), (0, "due")]
    assert {"due_date", "amount_minor", "status"} <= set(commitment["instalments"][0])
    (payment,) = view["payments"]
    assert {"external_id", "amount_minor", "currency", "paid_at", "method", "allocations"} <= set(payment)
    assert [
        (a["kind"], a["amount_minor"], a["commitment_reference"], a["instalment_sequence"]) for a in payment["allocations"]
    ] == [
        ("instalment", first, offer["commitment_reference"], 1),
        ("instalment", 500, offer["commitment_reference"], 2),
    ]
    assert [a["instalment_id"] for a in payment["allocations"]] == [i["id"] for i in commitment["instalments"][:2]]


def test_a_three_instalment_plan_paid_in_two_payments_is_kept(client, creditor_headers, actions_headers):
    offer = make_commitment(client, actions_headers, {"kind": "instalments", "instalment_count": 3})
    amounts = [i["amount_minor"] for i in offer["schedule"]]
    assert len(amounts) == 3
    assert pay(client, creditor_headers, external_id="p-1", amount_minor=amounts[0] + 2_000).status_code == 201
    assert account_view(client, creditor_headers)["commitments"][0]["status"] == "active"
    assert pay(client, creditor_headers, external_id="p-2", amount_minor=sum(amounts) - amounts[0] - 2_000).status_code == 201
    view = account_view(client, creditor_headers)
    (commitment,) = view["commitments"]
    assert commitment["status"] == "kept"
    assert all(i["status"] == "paid" and i["paid_minor"] == i["amount_minor"] for i in commitment["instalments"])
    assert view["balance_minor"] == 38_000 - sum(amounts) and view["credit_minor"] == 0


def test_an_overpayment_becomes_credit_on_the_account(client, creditor_headers, actions_headers):
    offer = make_commitment(client, actions_headers, {"kind": "instalments", "instalment_count": 3})
    response = pay(client, creditor_headers, amount_minor=offer["total_minor"] + 2_500)
    assert response.json()["allocations"][-1] == {
        "kind": "credit",
        "amount_minor": 2_500,
        "instalment_id": None,
        "commitment_reference": None,
        "instalment_sequence": None,
        "instalment_due_date": None,
    }
    view = account_view(client, creditor_headers)
    assert view["credit_minor"] == 2_500 and view["balance_minor"] == 0
    assert view["commitments"][0]["status"] == "kept"
    # Without a plan, what is owed is paid first (principal, then fees), and only the rest is credit.
    assert pay(client, creditor_headers, reference="CR-20002", external_id="p-uk", amount_minor=65_000).status_code == 201
    uk = account_view(client, creditor_headers, "CR-20002")
    assert (uk["balance_minor"], uk["fees_minor"], uk["credit_minor"]) == (0, 0, 1_000)


def test_a_reversal_reopens_the_instalment_and_the_commitment_is_active_again(client, creditor_headers, actions_headers):
    offer = make_commitment(client, actions_headers, {"kind": "instalments", "instalment_count": 3})
    amounts = [i["amount_minor"] for i in offer["schedule"]]
    pay(client, creditor_headers, external_id="p-1", amount_minor=amounts[0])
    pay(client, creditor_headers, external_id="p-2", amount_minor=amounts[1] + amounts[2])
    assert account_view(client, creditor_headers)["commitments"][0]["status"] == "kept"

    reversal = pay(
        client, creditor_headers, external_id="p-2-chargeback", amount_minor=-(amounts[1] + amounts[2]), reverses="p-2"
    )
    assert reversal.status_code == 201, reversal.text
    assert reversal.json()["reverses"] == "p-2"
    assert [(a["kind"], a["amount_minor"], a["instalment_sequence"]) for a in reversal.json()["allocations"]] == [
        ("instalment", -amounts[2], 3),
        ("instalment", -amounts[1], 2),
    ]
    view = account_view(client, creditor_headers)
    (commitment,) = view["commitments"]
    assert commitment["status"] == "active"
    assert [i["status"] for i in commitment["instalments"]] == ["paid", "due", "due"]
    assert view["balance_minor"] == 38_000 - amounts[0]
    # A plain refund (no payment named) undoes the latest allocations: here the first instalment.
    assert pay(client, creditor_headers, external_id="refund-1", amount_minor=-1_000).status_code == 201
    view = account_view(client, creditor_headers)
    assert view["commitments"][0]["instalments"][0]["paid_minor"] == amounts[0] - 1_000
    assert view["commitments"][0]["instalments"][0]["status"] == "due"
    assert view["balance_minor"] == 38_000 - amounts[0] + 1_000
    # More than is left to give back is refused.
    response = pay(client, creditor_headers, external_id="refund-2", amount_minor=-(amounts[0] - 1_000 + 1))
    assert response.status_code == 422 and response.json()["type"] == "urn:problem:nothing_to_reverse"


def test_payments_are_in_the_openapi_schema(client):
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/api/v1/payments"]["post"]
    assert set(operation["responses"]) >= {"200", "201", "404", "409", "422"}
    assert set(spec["components"]["schemas"]["PaymentIn"]["required"]) == {
        "reference",
        "amount_minor",
        "currency",
        "paid_at",
        "method",
        "external_id",
    }
    detail = spec["components"]["schemas"]["AccountDetailOut"]["properties"]
    assert "payments" in detail and "credit_minor" in detail


def test_paying_the_principal_leaves_the_fees_owed(client, creditor_headers):
    pay(client, creditor_headers, amount_minor=38_000)
    with session_scope() as session:
        account = session.scalars(select(Account).where(Account.reference == "CR-10001")).one()
        assert (account.balance_minor, account.fees_minor, account.credit_minor) == (0, 2_000, 0)
