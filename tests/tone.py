"""The tone rules' word lists (DESIGN.md §3, §5): no threats, no false urgency, no shaming, no legal jargon.
Checked on every response of domain.yml (tests/bot/test_responses.py) and on every message the api writes on
its own, contacts included (tests/api/services/test_contact_texts.py)."""

from __future__ import annotations

import re

FORBIDDEN = {
    "fr": [
        "huissier",
        "commissaire de justice",
        "juge",
        "dernier avis",
        "urgent",
        "aujourd'hui seulement",
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
        "final notice",
        "urgent",
        "today only",
        "judge",
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

# False urgency (DESIGN.md §3): an advantage (fees waived, a discount) tied to a deadline in the same sentence,
# as in "if we agree on a plan today, the fees are waived". A date stated as a fact ("due today, 3 March") or
# an advantage with no deadline ("the fees are waived in any plan we agree") is fine.
URGENCY = {
    "fr": r"aujourd['’]hui|ce soir|maintenant|tout de suite|immédiatement|sans attendre|cette semaine|ce mois-ci|"
    r"avant demain|d['’]ici demain|dernier jour|offre limitée|\bvite\b|expire",
    "en": r"today|tonight|\bnow\b|right away|at once|this week|this month|before tomorrow|by tomorrow|last day|"
    r"limited time|hurry|don['’]t wait|act fast|expires?",
}
ADVANTAGE = {
    "fr": r"annul|remise|réduction|réduit|geste commercial|offert|gratuit|abandon|rabais|économis|effac",
    "en": r"waive|discount|reduc|goodwill|gesture|free of|for free|bonus|written off|write off|cancel|saving|\bsave",
}
SENTENCE_END = re.compile(r"[.!?;\n]+")


def false_urgency(text: str, language: str) -> list[str]:
    """The sentences of `text` that tie an advantage to a deadline."""
    urgency, advantage = re.compile(URGENCY[language], re.I), re.compile(ADVANTAGE[language], re.I)
    return [s.strip() for s in SENTENCE_END.split(text) if urgency.search(s) and advantage.search(s)]
