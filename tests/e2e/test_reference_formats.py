"""Each creditor's own reference format verifies its debtors end to end, by web chat and by SMS.

Three creditors are created as a deployer would (`python -m api.cli create-creditor`, the API key from the
environment), each with its format (`HX482913`, `2024/000123`, `FAC-2023-0045`); each places a debtor through
its own API key; the debtor verifies through the real doors (socket.io naming the creditor's site, signed
Twilio webhooks from the number on the account) and the bot, asked for the reference, shows the creditor's
own example.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import uuid

import httpx
import pytest

from scripts.stack import ROOT
from tests.e2e.phone_client import PhoneDebtor, bodies
from tests.e2e.webchat_client import WebChatDebtor, texts

FORMATS = [
    # (name, pattern, example, the debtor's reference, how the debtor writes it on the web chat)
    ("Hexa Crédit", r"HX\d{6}", "HX123456", "HX482913", "ma référence est hx482913"),
    ("Banque 2024", r"\d{4}/\d{6}", "2024/000001", "2024/000123", "2024/000123"),
    ("Factures & Co", r"FAC-\d{4}-\d{4}", "FAC-2023-0001", "FAC-2023-0045", "c'est le dossier FAC-2023-0045"),
]


def create_creditor(stack, name: str, pattern: str, example: str) -> tuple[int, httpx.Client]:
    key = f"e2e-{uuid.uuid4().hex}"
    env = {**os.environ, "DATABASE_URL": stack.database_url, "PYTHONPATH": str(ROOT), "NEW_CREDITOR_KEY": key}
    command = [sys.executable, "-m", "api.cli", "create-creditor", "--name", name, "--address", "1 rue de la Paix, 75002 Paris"]
    command += ["--api-key-env", "NEW_CREDITOR_KEY", "--reference-pattern", pattern, "--reference-example", example]
    done = subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    creditor_id = int(re.search(r"Creditor (\d+) created", done.stdout)[1])
    return creditor_id, httpx.Client(base_url=stack.api_url, headers={"X-API-Key": key}, timeout=30)


@pytest.mark.parametrize(("name", "pattern", "example", "reference", "typed"), FORMATS, ids=[f[3] for f in FORMATS])
def test_each_creditors_reference_format_verifies_by_web_chat_and_sms(stack, name, pattern, example, reference, typed):
    creditor_id, creditor = create_creditor(stack, name, pattern, example)
    with creditor:
        assert creditor.get("/api/v1/reference-format").json()["example"] == example
        phone = f"+3367{uuid.uuid4().int % 10**7:07d}"
        account = {
            "reference": reference,
            "debtor_name": "Camille Moreau",
            "phone": phone,
            "date_of_birth": "1983-09-21",
            "language": "fr",
            "balance_minor": 25000,
            "due_date": "2026-10-01",
        }
        assert creditor.post("/api/v1/accounts", json=account).status_code == 201
        # Another creditor's format is refused for this creditor.
        other = {**account, "reference": "CR-10001"}
        assert creditor.post("/api/v1/accounts", json=other).status_code == 422

        async def web_chat() -> str:
            async with WebChatDebtor(stack.api_url, "fr", creditor=creditor_id) as debtor:
                asked = texts(await debtor.say("Bonjour"))
                assert example in asked, asked  # the creditor's own example, not CR-12345
                await debtor.say(typed)
                return texts(await debtor.say("21/09/1983"))

        verified = asyncio.run(web_chat())
        assert "Camille Moreau" in verified and reference in verified, verified

        sms = PhoneDebtor(stack.twilio_url, stack.database_url, phone)
        sms.say("Bonjour")
        sms.say(reference.lower())
        answer = bodies(sms.say("21/09/1983"))
        assert "Camille Moreau" in answer and reference in answer, answer

        stored = creditor.get(f"/api/v1/accounts/{reference}").json()
        assert sorted(c["channel"] for c in stored["conversations"] if c["verified_at"]) == ["sms", "webchat"]
