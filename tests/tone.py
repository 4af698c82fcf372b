"""The tone rules' word lists (DESIGN.md §3, §5): no threats, no false urgency, no shaming, no legal jargon.
Checked on every response of domain.yml (tests/bot/test_responses.py) and on every message the api writes on
its own, contacts included (tests/api/services/test_contact_texts.py)."""

from __future__ import annotations

FORBIDDEN = {
    "fr": [
        "huissier",
        "tribunal",
        "saisie",
        "poursuites",
        "injonction",
        "mise en demeure",
        "contentieux",
        "avocat",
        "plainte",
        "dernier avertissement",
        "immédiatement",
        "sans délai",
        "dernière chance",
        "honte",
        "irresponsable",
        "mauvais payeur",
        "fichage",
        "sanction",
        "pénalités",
        "vous devez payer",
    ],
    "en": [
        "bailiff",
        "court",
        "seize",
        "seizure",
        "lawsuit",
        "sue ",
        "legal action",
        "attorney",
        "lawyer",
        "final warning",
        "immediately",
        "last chance",
        "shame",
        "irresponsible",
        "deadbeat",
        "arrest",
        "penalty",
        "you must pay",
        "blacklist",
        "hereby",
        "pursuant",
    ],
}
