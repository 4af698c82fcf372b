"""Every response speaks French and English, fills only variables the bot provides, and keeps the tone.

Tone rules (DESIGN.md §3, §5): no threats, no false urgency, no shaming, no legal jargon, no invented consequences.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text())
RESPONSES = DOMAIN["responses"]
SLOTS = set(DOMAIN["slots"])
ACTIONS_CODE = "\n".join(p.read_text() for p in (ROOT / "actions").glob("*.py"))

FORBIDDEN = {
    "fr": [
        "huissier", "tribunal", "saisie", "poursuites", "injonction", "mise en demeure", "contentieux",
        "avocat", "plainte", "dernier avertissement", "immédiatement", "sans délai", "dernière chance",
        "honte", "irresponsable", "mauvais payeur", "fichage", "sanction", "pénalités", "vous devez payer",
    ],
    "en": [
        "bailiff", "court", "seize", "seizure", "lawsuit", "sue ", "legal action", "attorney", "lawyer",
        "final warning", "immediately", "last chance", "shame", "irresponsible", "deadbeat", "arrest",
        "penalty", "you must pay", "blacklist", "hereby", "pursuant",
    ],
}


def variants(name: str) -> dict[str, list[dict]]:
    by_language: dict[str, list[dict]] = {}
    for variant in RESPONSES[name]:
        for condition in variant.get("condition", []):
            if condition.get("name") == "language":
                by_language.setdefault(condition["value"], []).append(variant)
    return by_language


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_every_response_exists_in_french_and_english(name):
    by_language = variants(name)
    assert set(by_language) == {"fr", "en"}, f"{name} must have a French and an English variant"
    assert len(RESPONSES[name]) == sum(len(v) for v in by_language.values()), f"{name} has a variant with no language"


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_french_and_english_variants_use_the_same_variables_and_buttons(name):
    by_language = variants(name)
    fr, en = by_language["fr"][0], by_language["en"][0]
    assert set(re.findall(r"\{(\w+)\}", fr["text"])) == set(re.findall(r"\{(\w+)\}", en["text"]))
    assert [b["payload"] for b in fr.get("buttons", [])] == [b["payload"] for b in en.get("buttons", [])]


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_every_variable_is_a_slot_or_passed_by_an_action(name):
    for variable in set(re.findall(r"\{(\w+)\}", RESPONSES[name][0]["text"])):
        assert variable in SLOTS or f"{variable}=" in ACTIONS_CODE, f"{name} uses {{{variable}}} that nothing fills"


@pytest.mark.parametrize("name", sorted(RESPONSES))
@pytest.mark.parametrize("language", ["fr", "en"])
def test_no_response_threatens_shames_or_rushes(name, language):
    for variant in variants(name)[language]:
        lowered = variant["text"].lower()
        found = [word for word in FORBIDDEN[language] if word in lowered]
        assert not found, f"{name} ({language}) contains {found}"


def test_the_disclosure_says_automated_collector_creditor_purpose_and_recording():
    fr, en = (variants("utter_disclosure")[lang][0]["text"] for lang in ("fr", "en"))
    for words in ("assistant automatique", "{collector_name}", "{creditor_name}", "recouvrement", "utilisées à cette fin", "enregistrée"):
        assert words in fr
    for words in ("automated assistant", "{collector_name}", "{creditor_name}", "collect a debt", "used for that purpose", "recorded"):
        assert words in en


@pytest.mark.parametrize("name", ["utter_disclosure", "utter_ask_account_reference", "utter_ask_identity_secret",
                                  "utter_verification_failed", "utter_verification_locked", "utter_need_verification",
                                  "utter_wrong_person"])
def test_responses_before_verification_reveal_nothing_about_the_debt(name):
    for variant in RESPONSES[name]:
        for variable in re.findall(r"\{(\w+)\}", variant["text"]):
            assert variable in {"collector_name", "creditor_name", "attempts_left"}, f"{name} reveals {variable}"
