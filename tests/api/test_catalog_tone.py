"""The tone rules on every text the api writes itself (api/i18n: routed replies, SMS hints, document pages,
written confirmations and dispute answers, contacts) and on every button a debtor can press (domain.yml):
the same word lists as the domain's responses (tests/tone.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.tone import FORBIDDEN, false_urgency

ROOT = Path(__file__).resolve().parents[2]
# The law's own words, quoted because the law requires it (CPCE L111-8 names the enforcement judge).
QUOTED_LAW = {"confirmation.legal_l111_8", "confirmation.legal_l111_8_title"}


def flatten(tree: dict, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = str(value)
    return flat


CATALOGS = {
    language: flatten(yaml.safe_load((ROOT / "api" / "i18n" / f"{language}.yml").read_text(encoding="utf-8")))
    for language in ("fr", "en")
}
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("language", ["fr", "en"])
def test_no_text_of_the_api_threatens_shames_or_rushes(language: str) -> None:
    found = {
        key: [word for word in FORBIDDEN[language] if word in text.lower()]
        for key, text in CATALOGS[language].items()
        if key not in QUOTED_LAW
    }
    assert {key: words for key, words in found.items() if words} == {}


@pytest.mark.parametrize("language", ["fr", "en"])
def test_no_text_of_the_api_ties_an_advantage_to_a_deadline(language: str) -> None:
    found = {key: false_urgency(text, language) for key, text in CATALOGS[language].items()}
    assert {key: sentences for key, sentences in found.items() if sentences} == {}


@pytest.mark.parametrize("language", ["fr", "en"])
def test_no_button_threatens_shames_or_rushes(language: str) -> None:
    found = []
    for name, variants in DOMAIN["responses"].items():
        for variant in variants:
            languages = {c.get("value") for c in variant.get("condition", []) if c.get("name") == "language"}
            if language not in languages:
                continue
            for button in variant.get("buttons") or []:
                title = str(button.get("title", "")).lower()
                found += [(name, word) for word in FORBIDDEN[language] if word in title]
    assert found == []


def test_the_french_and_english_catalogs_have_the_same_keys() -> None:
    assert set(CATALOGS["fr"]) == set(CATALOGS["en"])
