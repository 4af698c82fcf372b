"""The creditor API: accounts and policy, with the errors an integrator needs to see."""

from __future__ import annotations

import pytest

from api.core.config import Settings

NEW_ACCOUNT = {
    "reference": "CR-30001",
    "debtor_name": "Lucie Bernard",
    "phone": "+33611223344",
    "email": "lucie@example.org",
    "date_of_birth": "1979-07-14",
    "postcode": "31000",
    "language": "fr",
    "timezone": "Europe/Paris",
    "currency": "EUR",
    "balance_minor": 51234,
    "fees_minor": 1500,
    "due_date": "2026-09-30",
}


def test_create_account_returns_201_and_the_stored_account(client, creditor_headers):
    response = client.post("/api/v1/accounts", json=NEW_ACCOUNT, headers=creditor_headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["reference"] == "CR-30001"
    assert body["balance_minor"] == 51234 and body["fees_minor"] == 1500
    assert body["status"] == "active"


def test_duplicate_reference_is_refused_with_409(client, creditor_headers):
    assert client.post("/api/v1/accounts", json=NEW_ACCOUNT, headers=creditor_headers).status_code == 201
    response = client.post("/api/v1/accounts", json=NEW_ACCOUNT, headers=creditor_headers)
    assert response.status_code == 409
    assert "PUT" in response.json()["detail"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("date_of_birth", "1979-02-30"),
        ("balance_minor", -5),
        ("balance_minor", 12.5),
        ("currency", "EURO"),
        ("currency", "XYZ"),
        ("language", "de"),
        ("timezone", "Mars/Olympus"),
        ("phone", "0612345678"),
        ("due_date", "next week"),
        ("email", "not-an-email"),
    ],
)
def test_invalid_account_data_gets_422_naming_the_field(client, creditor_headers, field, value):
    response = client.post("/api/v1/accounts", json={**NEW_ACCOUNT, field: value}, headers=creditor_headers)
    assert response.status_code == 422
    assert any(error["loc"][-1] == field for error in response.json()["detail"])


def test_missing_fields_are_all_reported(client, creditor_headers):
    response = client.post("/api/v1/accounts", json={"reference": "CR-1"}, headers=creditor_headers)
    assert response.status_code == 422
    missing = {error["loc"][-1] for error in response.json()["detail"] if error["type"] == "missing"}
    assert {"debtor_name", "language", "balance_minor", "due_date"} <= missing


def test_put_updates_the_account(client, creditor_headers):
    client.post("/api/v1/accounts", json=NEW_ACCOUNT, headers=creditor_headers)
    response = client.put("/api/v1/accounts/CR-30001", json={**NEW_ACCOUNT, "balance_minor": 40000}, headers=creditor_headers)
    assert response.status_code == 200
    assert client.get("/api/v1/accounts/CR-30001", headers=creditor_headers).json()["balance_minor"] == 40000


def test_account_detail_lists_every_record_kind(client, creditor_headers):
    body = client.get("/api/v1/accounts/CR-10001", headers=creditor_headers).json()
    for key in ("conversations", "signals", "commitments", "confirmations", "disputes", "consents", "handoffs"):
        assert body[key] == []


def test_unknown_account_is_404(client, creditor_headers):
    assert client.get("/api/v1/accounts/CR-00000", headers=creditor_headers).status_code == 404


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}])
def test_creditor_api_refuses_a_missing_or_wrong_key(client, headers):
    assert client.get("/api/v1/accounts/CR-10001", headers=headers).status_code == 401
    assert client.post("/api/v1/accounts", json=NEW_ACCOUNT, headers=headers).status_code == 401
    assert client.get("/api/v1/policy", headers=headers).status_code == 401


def test_policy_can_be_read_and_updated(client, creditor_headers):
    policy = client.get("/api/v1/policy", headers=creditor_headers).json()
    assert policy["min_instalment_minor"] == 5000
    policy.pop("updated_at")
    policy["max_instalments"] = 6
    response = client.put("/api/v1/policy", json=policy, headers=creditor_headers)
    assert response.status_code == 200
    assert client.get("/api/v1/policy", headers=creditor_headers).json()["max_instalments"] == 6


def test_policy_with_min_above_max_is_refused(client, creditor_headers):
    policy = client.get("/api/v1/policy", headers=creditor_headers).json()
    policy.pop("updated_at")
    response = client.put("/api/v1/policy", json={**policy, "min_instalments": 8, "max_instalments": 3}, headers=creditor_headers)
    assert response.status_code == 422


def test_openapi_documents_the_creditor_api(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/accounts" in paths and "/api/v1/accounts/{reference}" in paths and "/api/v1/policy" in paths
    # The action server's API is documented too, apart from the creditor's (its own tag, its own token).
    internal = [operation for path, item in paths.items() if path.startswith("/internal") for operation in item.values()]
    assert internal and all(operation["tags"] == ["action server"] for operation in internal)


def test_production_refuses_the_local_default_secrets(monkeypatch):
    with pytest.raises(ValueError, match="CREDITOR_API_KEY"):
        Settings(app_env="production")
    secrets = {"creditor_api_key": "k" * 32, "actions_token": "t" * 32, "secret_key": "s" * 32}
    with pytest.raises(ValueError, match="TWILIO_AUTH_TOKEN"):
        Settings(app_env="production", **secrets)
    Settings(app_env="production", twilio_auth_token="w" * 32, **secrets)
    # Unsigned Twilio webhooks are a development convenience only.
    with pytest.raises(ValueError, match="TWILIO_VALIDATE_SIGNATURES"):
        Settings(app_env="test", twilio_validate_signatures=False)


# --- each creditor's reference format ---------------------------------------------------------------------


@pytest.mark.parametrize("reference", ["HX482913", "2024/000123", "FAC-2023-0045"])
def test_references_in_each_creditors_format_are_placed_read_and_updated(client, creditor_headers, reference):
    account = {**NEW_ACCOUNT, "reference": reference}
    assert client.post("/api/v1/accounts", json=account, headers=creditor_headers).status_code == 201
    # A slash in the reference is part of it in the URL too (written as is or as %2F).
    for written in (reference, reference.replace("/", "%2F")):
        read = client.get(f"/api/v1/accounts/{written}", headers=creditor_headers)
        assert read.status_code == 200 and read.json()["reference"] == reference
    updated = client.put(f"/api/v1/accounts/{reference}", json={**account, "balance_minor": 100}, headers=creditor_headers)
    assert updated.status_code == 200 and updated.json()["balance_minor"] == 100
    unlock = client.post(f"/api/v1/accounts/{reference}/verification-unlock", headers=creditor_headers)
    assert unlock.status_code == 200


@pytest.mark.parametrize("reference", ["HX 482913", "2024//000123", "-FAC2023", "FAC.2023", "AB"])
def test_references_outside_the_accepted_shape_are_refused(client, creditor_headers, reference):
    response = client.post("/api/v1/accounts", json={**NEW_ACCOUNT, "reference": reference}, headers=creditor_headers)
    assert response.status_code == 422


def test_a_creditors_reference_format_is_checked_and_its_example_shown(client, creditor_headers):
    assert client.get("/api/v1/reference-format", headers=creditor_headers).json()["example"] == "CR-12345"
    bad = client.put("/api/v1/reference-format", json={"pattern": r"HX\d{6}", "example": "FAC-1"}, headers=creditor_headers)
    assert bad.status_code == 422
    assert (
        client.put("/api/v1/reference-format", json={"pattern": "HX[", "example": "HX1"}, headers=creditor_headers).status_code
        == 422
    )
    answer = client.put("/api/v1/reference-format", json={"pattern": r"HX\d{6}", "example": "HX123456"}, headers=creditor_headers)
    assert answer.status_code == 200, answer.text
    # The demo accounts (CR-…) were placed before: the answer says how many do not follow the new format.
    assert answer.json()["accounts_not_matching"] >= 2
    assert (
        client.post("/api/v1/accounts", json={**NEW_ACCOUNT, "reference": "hx482913"}, headers=creditor_headers).status_code
        == 201
    )
    refused = client.post("/api/v1/accounts", json=NEW_ACCOUNT, headers=creditor_headers)
    assert refused.status_code == 422 and refused.json()["type"] == "urn:problem:reference_format_mismatch"


# --- the law the account is under ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "currency", "expected"),
    [(None, "EUR", "FR"), (None, "GBP", "GB"), (None, "USD", "US"), ("be", "EUR", "BE"), ("FR", "GBP", "FR")],
)
def test_the_jurisdiction_is_stored_or_follows_the_currency(client, creditor_headers, given, currency, expected):
    account = {**NEW_ACCOUNT, "currency": currency, **({"jurisdiction": given} if given else {})}
    body = client.post("/api/v1/accounts", json=account, headers=creditor_headers).json()
    assert body["jurisdiction"] == expected


def test_interest_is_part_of_the_balance_and_cannot_exceed_it(client, creditor_headers):
    body = client.post("/api/v1/accounts", json={**NEW_ACCOUNT, "interest_minor": 1234}, headers=creditor_headers).json()
    assert (body["balance_minor"], body["interest_minor"]) == (51234, 1234)
    too_much = {**NEW_ACCOUNT, "reference": "CR-30002", "interest_minor": 51235}
    assert client.post("/api/v1/accounts", json=too_much, headers=creditor_headers).status_code == 422


def test_a_deployer_creates_a_creditor_whose_key_places_accounts_in_its_format(client, creditor_headers, monkeypatch, capsys):
    from api import cli

    key = "a-new-creditors-key-0001"
    monkeypatch.setenv("NEW_KEY", key)
    command = ["create-creditor", "--name", "Hexa Crédit", "--address", "1 rue de la Paix, Paris", "--api-key-env", "NEW_KEY"]
    cli.main([*command, "--reference-pattern", r"HX\d{6}", "--reference-example", "hx123456"])
    assert "created" in capsys.readouterr().out
    headers = {"X-API-Key": key}
    assert client.get("/api/v1/reference-format", headers=headers).json()["example"] == "HX123456"
    assert client.post("/api/v1/accounts", json={**NEW_ACCOUNT, "reference": "HX482913"}, headers=headers).status_code == 201
    assert client.post("/api/v1/accounts", json=NEW_ACCOUNT, headers=headers).status_code == 422
    # Its accounts are its own: the demo creditor does not see them.
    assert client.get("/api/v1/accounts/HX482913", headers=creditor_headers).status_code == 404
    with pytest.raises(SystemExit, match="another creditor"):
        cli.main(command)
    monkeypatch.setenv("NEW_KEY", "short")
    with pytest.raises(SystemExit, match="16 characters"):
        cli.main(command)
    monkeypatch.setenv("NEW_KEY", "another-creditors-key-02")
    with pytest.raises(SystemExit, match="example must match"):
        cli.main([*command, "--reference-pattern", r"HX\d{6}", "--reference-example", "FAC-1"])
