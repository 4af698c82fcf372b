"""The written confirmation carries what the debtor needs (and French law requires), in the debtor's language."""

import io
from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import yaml
from pypdf import PdfReader

from api import i18n
from api.i18n import format_date, format_money, t
from api.services.confirmation_pdf import DEFAULT_FONT_DIR, ConfirmationDocument, render_confirmation_pdf

pytestmark = pytest.mark.skipif(not (DEFAULT_FONT_DIR / "DejaVuSans.ttf").is_file(), reason="needs Debian's fonts-dejavu-core")

FRENCH = ConfirmationDocument(
    language="fr",
    confirmation_number="CONF-2026-000042",
    account_reference="DOS-8812-X",
    creditor_name="Énergie du Rhône SA",
    creditor_address="12 quai Saint-Antoine, 69002 Lyon",
    collector_name="Recouvrement Équitable SAS",
    collector_address="3 avenue Foch, 75116 Paris",
    debtor_name="Zoé Lefèvre-Garçon",
    currency="EUR",
    principal_minor=123_456,
    fees_minor=1_500,
    fees_waived_minor=1_500,
    discount_minor=0,
    total_minor=123_456,
    instalments=((date(2026, 1, 31), 41_152), (date(2026, 2, 28), 41_152), (date(2026, 3, 31), 41_152)),
    payment_methods=("Virement sur l'IBAN FR76 3000 6000 0112 3456 7890 189",),
    change_plan_instructions="Répondez à ce message pour modifier votre échéancier.",
    issued_at=datetime(2026, 1, 15, 9, 30, tzinfo=timezone.utc),
)
ENGLISH = replace(
    FRENCH,
    language="en",
    debtor_name="Siobhán O'Brien",
    fees_waived_minor=0,
    discount_minor=6_248,
    total_minor=118_708,
    instalments=((date(2026, 2, 1), 59_354), (date(2026, 2, 15), 59_354)),
    payment_methods=("Bank transfer to IBAN FR76 3000 6000 0112 3456 7890 189", "Card payment at pay.example"),
    change_plan_instructions="Reply to this message to change your plan.",
)


def pdf_text(doc: ConfirmationDocument) -> str:
    data = render_confirmation_pdf(doc)
    assert data.startswith(b"%PDF-")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return _words(text)


def _words(text: str) -> str:
    # Extraction turns Babel's (narrow) no-break spaces and line wraps into plain spaces.
    return " ".join(text.split())


@pytest.mark.parametrize("doc", [FRENCH, ENGLISH], ids=["fr", "en"])
def test_the_confirmation_names_the_arrangement_and_every_instalment(doc: ConfirmationDocument) -> None:
    text = pdf_text(doc)

    for expected in (
        t("confirmation.title", doc.language),
        doc.confirmation_number,
        doc.account_reference,
        doc.debtor_name,
        doc.creditor_name,
        doc.collector_name,
        format_date(doc.issued_at.date(), doc.language),
        format_money(doc.total_minor, doc.currency, doc.language),
        *doc.payment_methods,
        doc.change_plan_instructions,
    ):
        assert _words(expected) in text
    for number, (due_date, amount_minor) in enumerate(doc.instalments, start=1):
        amount = format_money(amount_minor, doc.currency, doc.language)
        assert _words(f"{number} {format_date(due_date, doc.language)} {amount}") in text


def test_a_french_confirmation_says_who_recovers_the_debt_amicably_and_quotes_l111_8() -> None:
    text = pdf_text(FRENCH)

    assert "recouvrement amiable" in text
    assert "Article L111-8 du code des procédures civiles d'exécution" in text
    assert "restent à la charge du créancier" in text
    assert _words(t("confirmation.legal_l111_8", "fr")) in text


def test_the_breakdown_shows_principal_fees_and_reductions() -> None:
    french, english = pdf_text(FRENCH), pdf_text(ENGLISH)

    assert _words(f"Principal {format_money(123_456, 'EUR', 'fr')}") in french
    assert _words(f"Frais annulés {format_money(-1_500, 'EUR', 'fr')}") in french
    assert _words(f"Discount {format_money(-6_248, 'EUR', 'en')}") in english
    assert "Discount" not in pdf_text(replace(ENGLISH, discount_minor=0, fees_minor=0, principal_minor=118_708))


def test_an_english_confirmation_is_all_english_and_skips_the_french_notice_unless_asked() -> None:
    text = pdf_text(ENGLISH)

    assert "Confirmation of your payment arrangement" in text
    assert "amicable debt recovery" in text
    assert "L111-8" not in text
    assert "L111-8" in pdf_text(replace(ENGLISH, french_law_notice=True))


def test_figures_that_do_not_add_up_are_refused() -> None:
    with pytest.raises(ValueError, match="schedule"):
        render_confirmation_pdf(replace(FRENCH, instalments=((date(2026, 1, 31), 100),)))
    with pytest.raises(ValueError, match="breakdown"):
        render_confirmation_pdf(replace(FRENCH, fees_waived_minor=0))


def test_the_same_confirmation_renders_to_the_same_bytes() -> None:
    assert render_confirmation_pdf(FRENCH) == render_confirmation_pdf(FRENCH)


def test_a_missing_font_directory_says_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="fonts-dejavu-core"):
        render_confirmation_pdf(FRENCH, font_dir=tmp_path)


# --- the catalog behind the labels ---------------------------------------------------------------------------


def test_french_and_english_catalogs_have_the_same_confirmation_keys() -> None:
    catalog_dir = Path(i18n.__file__).parent
    catalogs = {lang: yaml.safe_load((catalog_dir / f"{lang}.yml").read_text(encoding="utf-8")) for lang in ("fr", "en")}
    assert set(catalogs["fr"]["confirmation"]) == set(catalogs["en"]["confirmation"])


def test_a_missing_translation_falls_back_to_english_and_an_unknown_key_fails() -> None:
    assert t("confirmation.title", "es") == "Confirmation of your payment arrangement"
    assert t("confirmation.title", "fr-FR") == "Confirmation de votre accord de paiement"
    with pytest.raises(KeyError):
        t("confirmation.no_such_key", "fr")


def test_money_and_dates_follow_the_language() -> None:
    assert _words(format_money(123_456, "EUR", "fr")) == "1 234,56 €"
    assert format_money(123_456, "EUR", "en") == "€1,234.56"
    assert format_money(1_234, "JPY", "en") == "JP¥1,234"  # no minor unit: 1234 yen, not 12.34
    assert format_date(date(2026, 2, 28), "fr") == "28 février 2026"
    assert format_date(date(2026, 2, 28), "en") == "28 February 2026"
