"""What the contacts we initiate say (api/i18n, section `contact`): French and English in step, the tone
rules, SMS-fit, each saying it comes from a debt collector, and the first or discreet contact saying nothing
about the debt."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from api.services.sms_text import segment_info, to_gsm7
from api.states import ContactKind
from tests.tone import FORBIDDEN

CATALOG = Path(__file__).resolve().parents[3] / "api" / "i18n"
TEXTS = {
    language: yaml.safe_load((CATALOG / f"{language}.yml").read_text(encoding="utf-8"))["contact"] for language in ("fr", "en")
}
# Typical values, as long as real ones get.
VALUES = {
    "collector": "Recouvrement Amiable Démo",
    "creditor": "Lumière Énergie SA",
    "amount": "133,34 €",
    "next_amount": "133,34 €",
    "paid": "133,33 €",
    "remaining": "266,67 €",
    "date": "15 septembre 2027",
    "next_date": "15 septembre 2027",
    "missed_date": "15 septembre 2027",
    "reference": "COM-2026-1A2B3C4D",
    "link": "https://pay.example.fr/l/AbCdEfGh",
    "notice": "AVIS-2026-1A2B3C4D",
}
DEBT_DETAILS = {"amount", "next_amount", "paid", "remaining", "date", "next_date", "missed_date", "reference"}
KEYS = sorted(set(TEXTS["fr"]) - {"footer"})


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


def rendered(key: str, language: str) -> str:
    body = TEXTS[language][key].strip().format(**VALUES)
    return f"{body} {TEXTS[language]['footer'].format(**VALUES)}"


def test_every_contact_kind_has_its_words_in_both_languages() -> None:
    assert set(TEXTS["fr"]) == set(TEXTS["en"])
    for kind in ContactKind:
        assert kind.value in TEXTS["fr"], kind


@pytest.mark.parametrize("key", KEYS)
def test_french_and_english_use_the_same_values(key: str) -> None:
    assert placeholders(TEXTS["fr"][key]) == placeholders(TEXTS["en"][key])


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("language", ["fr", "en"])
def test_no_contact_threatens_shames_or_rushes(key: str, language: str) -> None:
    lowered = rendered(key, language).lower()
    assert [word for word in FORBIDDEN[language] if word in lowered] == []


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_contact_says_it_comes_from_a_debt_collector_and_how_to_stop(key: str, language: str) -> None:
    text = rendered(key, language)
    assert VALUES["collector"] in text and VALUES["creditor"] in text
    assert ("recouvrement" if language == "fr" else "debt collector") in text
    assert "STOP" in text


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("language", ["fr", "en"])
def test_contacts_fit_in_two_sms_segments_and_the_first_contact_in_three(key: str, language: str) -> None:
    info = segment_info(to_gsm7(rendered(key, language)))
    assert info.segments <= (3 if key == "first_contact" else 2), (key, language, info)


@pytest.mark.parametrize("key", ["first_contact", "discreet"])
@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_first_and_discreet_contacts_say_nothing_about_the_debt(key: str, language: str) -> None:
    assert not placeholders(TEXTS[language][key]) & DEBT_DETAILS
