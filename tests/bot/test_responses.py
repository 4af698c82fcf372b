"""Every response speaks French and English, fills only variables the bot provides, and keeps the tone.

Tone rules (DESIGN.md §3, §5): no threats, no false urgency, no shaming, no legal jargon, no invented consequences.
SMS (`channel: twilio` variants): the same meaning in at most 2 segments, because SMS is paid per segment,
counting the numbered lines that stand for the buttons on a phone; and plain text, since an SMS shows markdown as is.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
import yaml

from api.services.sms_text import SegmentInfo, render, segment_info, to_gsm7
from tests.tone import FORBIDDEN, false_urgency

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text())
RESPONSES = DOMAIN["responses"]
SLOTS = set(DOMAIN["slots"])
ACTIONS_CODE = "\n".join(p.read_text() for p in (ROOT / "actions").glob("*.py"))


SMS = "twilio"  # the output channel of our SMS / WhatsApp connector
SMS_MAX_SEGMENTS = {"utter_disclosure": 3}  # all DESIGN.md §5 disclosure items must stay; 2 segments otherwise
# Estimated length of what fills a placeholder in an SMS (links are shortened before sending); others count 12.
PLACEHOLDER_CHARS = {
    "collector_name": 26,
    "creditor_name": 18,
    "support_resources_text": 120,
    "payment_methods_text": 90,
    "schedule_text": 80,
    "document_url": 30,
    "debt_origin": 60,
    "privacy_contact": 30,
    "payments_text": 120,
    "escalation_text": 200,
    "hours_text": 50,
    "collector_address": 45,
    "creditor_address": 45,
    "collector_email": 35,
    "next_due_text": 30,
}
PLACEHOLDER_DEFAULT_CHARS = 12
TWO_SEGMENTS = 306  # GSM-7 septets in 2 concatenated parts
# What the SMS connector adds under the numbered buttons (api/i18n/*.yml, sms.reply_with_number).
BUTTONS_HINT = {"fr": "Répondez par le numéro de votre choix.", "en": "Reply with the number of your choice."}
MARKDOWN = ("](", "**")  # a link [text](url), bold


def variables(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


def variants(name: str, channel: str | None = None) -> dict[str, list[dict]]:
    """The variants of one channel (None: the default, web one), grouped by their language condition."""
    by_language: dict[str, list[dict]] = {}
    for variant in RESPONSES[name]:
        if variant.get("channel") != channel:
            continue
        for condition in variant.get("condition", []):
            if condition.get("name") == "language":
                by_language.setdefault(condition["value"], []).append(variant)
    return by_language


def channels(name: str) -> set[str | None]:
    return {variant.get("channel") for variant in RESPONSES[name]}


def every_variant(name: str, language: str) -> list[dict]:
    return [v for channel in channels(name) for v in variants(name, channel).get(language, [])]


def sms_estimate(text: str) -> str:
    """The text as an SMS would carry it, with each placeholder replaced by a typical value length."""
    filled = re.sub(r"\{(\w+)\}", lambda m: "x" * PLACEHOLDER_CHARS.get(m.group(1), PLACEHOLDER_DEFAULT_CHARS), text)
    return to_gsm7(filled)


def sms_segments(variant: dict, language: str) -> SegmentInfo:
    """What `variant` would cost by SMS: its text, then one numbered line per button and the hint, as outbox renders it."""
    return segment_info(sms_estimate(render(variant["text"], variant.get("buttons"), hint=BUTTONS_HINT[language])))


def markdown_in(text: str) -> list[str]:
    return [mark for mark in MARKDOWN if mark in text]


SMS_RESPONSES = sorted(name for name in RESPONSES if SMS in channels(name))


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_every_response_exists_in_french_and_english(name):
    for channel in channels(name):
        assert set(variants(name, channel)) == {"fr", "en"}, (
            f"{name} must have a French and an English {channel or 'default'} variant"
        )
    in_some_language = sum(len(v) for channel in channels(name) for v in variants(name, channel).values())
    assert len(RESPONSES[name]) == in_some_language, f"{name} has a variant with no language"


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_french_and_english_variants_use_the_same_variables_and_buttons(name):
    for channel in channels(name):
        by_language = variants(name, channel)
        fr, en = by_language["fr"][0], by_language["en"][0]
        assert variables(fr["text"]) == variables(en["text"]), f"{name} ({channel or 'default'})"
        assert [b["payload"] for b in fr.get("buttons", [])] == [b["payload"] for b in en.get("buttons", [])]


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_every_variable_is_a_slot_or_passed_by_an_action(name):
    for variant in RESPONSES[name]:
        for variable in variables(variant["text"]):
            assert variable in SLOTS or f"{variable}=" in ACTIONS_CODE, f"{name} uses {{{variable}}} that nothing fills"


@pytest.mark.parametrize("name", sorted(RESPONSES))
@pytest.mark.parametrize("language", ["fr", "en"])
def test_no_response_threatens_shames_or_rushes(name, language):
    for variant in every_variant(name, language):
        lowered = variant["text"].lower()
        found = [word for word in FORBIDDEN[language] if word in lowered]
        assert not found, f"{name} ({language}, {variant.get('channel') or 'default'}) contains {found}"


@pytest.mark.parametrize("name", sorted(RESPONSES))
@pytest.mark.parametrize("language", ["fr", "en"])
def test_no_response_ties_an_advantage_to_a_deadline(name, language):
    for variant in every_variant(name, language):
        found = false_urgency(variant["text"], language)
        assert not found, f"{name} ({language}, {variant.get('channel') or 'default'}) rushes the debtor: {found}"


@pytest.mark.parametrize(
    ("language", "text", "rushes"),
    [
        # The fee waiver as it was first written: the advantage held out for today only.
        ("en", "As a goodwill gesture: if we agree on a plan today, the {fees_text} in fees are waived.", True),
        ("fr", "Geste commercial : si nous convenons d'un accord aujourd'hui, les frais de {fees_text} sont annulés.", True),
        ("fr", "Réglez maintenant et profitez d’une remise de 10 %.", True),
        ("en", "Pay now to get a discount.", True),
        # The same advantage with no deadline, and a deadline with no advantage, are plain facts.
        ("en", "As a goodwill gesture, the {fees_text} in fees are waived in any plan we agree together.", False),
        ("fr", "Geste commercial : les frais de {fees_text} sont annulés dans tout accord que nous convenons ensemble.", False),
        ("en", "Your instalment of {amount} is due today, {date}. Fees are waived in your plan.", False),
        ("fr", "Évitez-vous un souci : les frais sont annulés dans tout accord.", False),
    ],
)
def test_the_false_urgency_check_tells_a_deadline_tied_to_an_advantage_from_plain_facts(language, text, rushes):
    assert bool(false_urgency(text, language)) is rushes


def test_the_disclosure_says_automated_collector_creditor_purpose_recording_person_and_stop():
    required = {
        "fr": (
            "assistant automatique",
            "{collector_name}",
            "{creditor_name}",
            "recouvrement",
            "utilisées à cette fin",
            "enregistrée",
            "conseiller",
            "STOP",
        ),
        "en": (
            "automated assistant",
            "{collector_name}",
            "{creditor_name}",
            "collect a debt",
            "used for that purpose",
            "recorded",
            "person",
            "STOP",
        ),
    }
    for language, words in required.items():
        for variant in every_variant("utter_disclosure", language):
            missing = [w for w in words if w not in variant["text"]]
            assert not missing, f"utter_disclosure ({language}, {variant.get('channel') or 'default'}) lacks {missing}"


@pytest.mark.parametrize(
    "name",
    [
        "utter_disclosure",
        "utter_ask_account_reference",
        "utter_ask_identity_secret",
        "utter_verification_failed",
        "utter_verification_locked",
        "utter_need_verification",
        "utter_wrong_person",
    ],
)
def test_responses_before_verification_reveal_nothing_about_the_debt(name):
    for variant in RESPONSES[name]:
        for variable in re.findall(r"\{(\w+)\}", variant["text"]):
            # The example reference is the creditor's format (the same for every debtor), not the debtor's own.
            assert variable in {"collector_name", "creditor_name", "reference_example"}, f"{name} reveals {variable}"


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_responses_too_long_for_two_sms_segments_have_sms_variants(name):
    for language, found in variants(name).items():
        info = sms_segments(found[0], language)
        if info.segments > 2:
            assert language in variants(name, SMS), (
                f"{name} ({language}) is ~{info.units} characters by SMS with its buttons (over {TWO_SEGMENTS}): add a twilio variant"
            )


@pytest.mark.parametrize("name", SMS_RESPONSES)
@pytest.mark.parametrize("language", ["fr", "en"])
def test_sms_variants_fit_in_two_segments(name, language):
    limit = SMS_MAX_SEGMENTS.get(name, 2)
    for variant in variants(name, SMS)[language]:
        info = sms_segments(variant, language)
        assert info.segments <= limit, (
            f"{name} ({language}) needs {info.segments} SMS segments ({info.units} septets with its buttons and hint)"
        )


@pytest.mark.parametrize("name", SMS_RESPONSES)
@pytest.mark.parametrize("language", ["fr", "en"])
def test_sms_variants_keep_the_variables_and_buttons_of_the_default_variant(name, language):
    default = variants(name)[language][0]
    for variant in variants(name, SMS)[language]:
        assert variables(variant["text"]) <= variables(default["text"]), (
            f"{name} ({language}) fills a variable the web variant does not"
        )
        assert variant.get("buttons", []) == default.get("buttons", []), f"{name} ({language}) changes the buttons by SMS"


@pytest.mark.parametrize("name", sorted(RESPONSES))
@pytest.mark.parametrize("language", ["fr", "en"])
def test_sms_variants_have_no_markdown(name, language):
    """An SMS shows `[text](url)` and `**bold**` as is: the link is written plainly (e.g. "PDF : {document_url}")."""
    if any(markdown_in(v["text"]) for v in variants(name).get(language, [])):
        assert language in variants(name, SMS), f"{name} ({language}) uses markdown on the web: add a plain twilio variant"
    for variant in variants(name, SMS).get(language, []):
        assert not markdown_in(variant["text"]), f"{name} ({language}) has {markdown_in(variant['text'])} in an SMS"


@pytest.mark.parametrize("name", SMS_RESPONSES)
@pytest.mark.parametrize("language", ["fr", "en"])
def test_sms_variants_are_plain_sms_text(name, language):
    """Only accented letters may need to_gsm7: no emoji, typographic quotes or dashes, non-breaking spaces."""
    for variant in variants(name, SMS)[language]:
        odd = {c for c in variant["text"] if to_gsm7(c) != c and not unicodedata.category(c).startswith("L")}
        assert not odd, f"{name} ({language}) uses {sorted(odd)} in an SMS"
