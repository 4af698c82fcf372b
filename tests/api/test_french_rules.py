"""The French rules as rules, not settings (DESIGN §5): the law of the account decides, whatever language the
debtor reads. CPCE L111-8: the costs of amicable recovery stay with the creditor (its paragraph is in every
written document of a French account); CPCE R124-4: the first written notice and the written confirmations
give the basis of the debt and split what is owed into principal, interest and other charges; and nothing
rushes the debtor (no "today only" on a waiver)."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from pypdf import PdfReader
from sqlalchemy import select

from api import i18n
from api.core.config import get_settings
from api.db import session_scope
from api.models import Account, Confirmation, Message
from api.services.confirmation_pdf import DEFAULT_FONT_DIR
from api.services.scheduler import Scheduler
from tests.api_fixtures import make_commitment

pytestmark = pytest.mark.skipif(not (DEFAULT_FONT_DIR / "DejaVuSans.ttf").is_file(), reason="needs Debian's fonts-dejavu-core")

ROOT = Path(__file__).resolve().parents[2]
L111_8 = {"fr": "L111-8", "en": "L111-8"}


def pdf_words(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def place(client, creditor_headers, **values) -> None:
    body = {
        "reference": "FR-77001",
        "debtor_name": "Jamie Martin",
        "phone": "+33655443322",
        "language": "en",
        "balance_minor": 60_000,
        "interest_minor": 4_500,
        "fees_minor": 1_200,
        "currency": "EUR",
        "due_date": "2026-10-31",
        "date_of_birth": "1980-06-15",
        "origin": "Electricity invoice 2026-0815, September 2026",
        **values,
    }
    answer = client.post("/api/v1/accounts", json=body, headers=creditor_headers)
    assert answer.status_code == 201, answer.text


def first_contact(reference: str) -> tuple[str, Confirmation]:
    """Runs the scheduler on a weekday morning; answers the first contact's text and the notice it links to."""
    Scheduler(get_settings()).tick(dt.datetime(2026, 12, 7, 10, tzinfo=ZoneInfo("Europe/Paris")))
    with session_scope() as session:
        account = session.scalar(select(Account).where(Account.reference == reference))
        message = session.scalar(select(Message).where(Message.author == "system").order_by(Message.id.desc()))
        notice = session.scalar(select(Confirmation).where(Confirmation.account_id == account.id, Confirmation.kind == "notice"))
        session.expunge_all()
    assert message is not None and notice is not None
    return message.text, notice


def test_a_french_account_read_in_english_gets_the_l111_8_paragraph_and_the_r124_4_items(client, creditor_headers):
    place(client, creditor_headers)
    text, notice = first_contact("FR-77001")
    # The message names the notice and links to it; it says nothing of the debt itself.
    assert notice.number in text and ("/documents/" in text or "/l/" in text)
    assert "600" not in text and "Electricity" not in text
    words = pdf_words(notice.pdf)
    for required in (
        i18n.t("notice.title", "en"),
        "Electricity invoice 2026-0815",  # the basis of the debt
        i18n.t("confirmation.principal", "en"),
        i18n.format_money(55_500, "EUR", "en"),  # principal: the balance less the interest
        i18n.t("confirmation.interest", "en"),
        i18n.format_money(4_500, "EUR", "en"),
        i18n.t("confirmation.fees", "en"),
        i18n.format_money(1_200, "EUR", "en"),
        i18n.format_money(61_200, "EUR", "en"),  # the total
        "amicable debt recovery on behalf of",  # who collects, for whom, and that it is amicable
        i18n.t("notice.request", "en"),
        L111_8["en"],
    ):
        assert " ".join(required.split()) in words, required


def test_an_english_account_in_french_has_no_l111_8_paragraph(client, creditor_headers):
    place(client, creditor_headers, reference="GB-77002", language="fr", currency="GBP", phone="+447700900123")
    _, notice = first_contact("GB-77002")
    words = pdf_words(notice.pdf)
    assert i18n.t("notice.title", "fr") in words and "L111-8" not in words
    assert i18n.t("confirmation.interest", "fr") in words


def test_the_written_confirmation_follows_the_accounts_law_and_splits_the_amounts(client, actions_headers, creditor_headers):
    with session_scope() as session:  # the demo's French debtor, reading in English
        account = session.scalar(select(Account).where(Account.reference == "CR-10001"))
        account.language, account.interest_minor, account.origin = "en", 2_000, "Gas invoice 2026-0420"
    make_commitment(client, actions_headers, {"kind": "instalments", "instalment_count": 3})
    with session_scope() as session:
        confirmation = session.scalar(
            select(Confirmation).where(Confirmation.kind == "commitment").order_by(Confirmation.created_at.desc())
        )
        words = pdf_words(confirmation.pdf)
    for required in (
        "Gas invoice 2026-0420",
        i18n.t("confirmation.interest", "en"),
        i18n.format_money(2_000, "EUR", "en"),
        "L111-8",
    ):
        assert required in words, required


def test_the_fee_waiver_and_every_domain_response_promise_no_deadline_and_no_collection_fees():
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"]
    waiver = " ".join(variant["text"] for variant in domain["utter_fee_waiver"]).lower()
    assert not re.search(r"today|aujourd|tonight|ce soir|now only|seulement", waiver)
    fees = " ".join(variant["text"] for variant in domain["utter_fees"])
    assert "aucuns frais de recouvrement" in fees and "do not charge you any collection fees" in fees


def test_the_creditor_api_says_what_fees_may_hold():
    from api.schemas.creditor import AccountIn

    description = AccountIn.model_fields["fees_minor"].description or ""
    assert "L111-8" in description and "Never the costs of collection" in description
