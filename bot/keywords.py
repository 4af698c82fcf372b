"""Reasons and preferences read from debtors' words, in French and English.

Pure functions, no I/O: each table maps a normalised code to patterns; the first pattern that matches
wins, and its span is reported so the NLU component can place the entity.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

FLAGS = re.IGNORECASE


@dataclass(frozen=True)
class Match:
    value: str
    start: int
    end: int


def _table(entries: dict[str, list[str]]) -> list[tuple[str, re.Pattern[str]]]:
    return [(code, re.compile(pattern, FLAGS)) for code, patterns in entries.items() for pattern in patterns]


# Order matters where words overlap: more specific reasons come first.
HARDSHIP_REASONS = _table(
    {
        "bereavement": [
            r"\b(d[ée]c[ée]d[ée]e?|d[ée]c[eè]s|obs[èe]ques|fun[ée]railles|enterrement|veuve?|veuvage|(est|sont) morte?s?)\b",
            r"\b(passed away|died|funeral|bereave\w*|widow(ed|er)?)\b",
        ],
        "job_loss": [
            r"\b(perdu (mon|ma|le) (travail|emploi|boulot|job|poste)|licenci\w*|ch[ôo]mage(?! partiel)|ch[ôo]meur|ch[ôo]meuse|sans emploi|p[ôo]le emploi|france travail|fin de (contrat|cdd|mission))\b",
            r"\b(lost (my|the) (job|work)|laid off|redundan\w*|unemployed|out of work|got fired|been fired|sacked|jobless)\b",
        ],
        "illness": [
            r"\b(malad\w*|h[ôo]pital|hospitalis\w*|arr[êe]t (de travail|maladie)|op[ée]ration|cancer|invalidit[ée])\b",
            r"\b(sick|illness|ill health|hospital|surgery|off work sick|disabilit\w*)\b",
        ],
        "separation": [
            r"\b(divorc\w*|s[ée]par[ée]e?s?|s[ée]paration|(m'a|m a) quitt[ée]e?|rupture)\b",
            r"\b(divorc\w*|separat\w*|split up|broke up|break-?up|left me)\b",
        ],
        "reduced_income": [
            r"\b(baisse de (salaire|revenus?)|moins d'heures|temps partiel|ch[ôo]mage partiel|rsa|smic|petite retraite|fin de mois difficile|revenus? (ont )?baiss\w*)\b",
            r"\b(hours (got |were |have been )?cut|pay cut|reduced hours|universal credit|on benefits|less money coming in|income (has )?dropped|part[- ]time now)\b",
        ],
    }
)

DISPUTE_REASONS = _table(
    {
        "fraud": [
            r"\b(fraude|frauduleu\w*|usurpation|arnaque|escroquerie|jamais sign[ée]|pas sign[ée])\b",
            r"\b(fraud\w*|identity theft|scam|never signed|stolen identity)\b",
        ],
        "already_paid": [
            r"\b(d[ée]j[àa] (pay[ée]|r[ée]gl[ée]|sold[ée])|preuve de paiement)\b",
            r"\b(already paid|proof of payment|paid (it|this) already)\b",
        ],
        "not_mine": [
            r"\b(pas (ma|mon) (dette|facture|compte|contrat)|pas [àa] moi|jamais (eu|[ée]t[ée]) client|je ne (les|vous) connais pas)\b",
            r"\b(not (my|mine)|isn'?t mine|never (had|opened) an account|never been a customer|don'?t know (this|that) company)\b",
        ],
        "wrong_amount": [
            r"\b(montant (est |n'est pas )?(faux|erron[ée]|incorrect|bon)|trop [ée]lev[ée]|erreur de (montant|facturation)|surfactur\w*)\b",
            r"\b(wrong amount|amount is wrong|overcharg\w*|billing (error|mistake)|too high|incorrect amount)\b",
        ],
        "product_or_service": [
            r"\b(jamais re[çc]u|pas re[çc]u|d[ée]fectueu\w*|ne (fonctionn|march)\w*|pas livr[ée]|jamais livr[ée]|service (pas|jamais) (rendu|fourni))\b",
            r"\b(never (received|arrived|delivered)|not delivered|faulty|broken|didn'?t work|doesn'?t work|service was (never|not) provided)\b",
        ],
    }
)

CHANNELS = _table(
    {
        "email": [r"\b(e-?mail|mail|courriel|mel)\b"],
        "whatsapp": [r"\bwhats ?app\b"],
        "sms": [r"\b(sms|textos?|text(s|ing)?|message écrit)\b"],
        "phone": [r"\b(t[ée]l[ée]phone|appel(ez|er)?|phone|call)\b"],
        "post": [r"\b(courrier|lettre|par la poste|post|letter)\b"],
    }
)

TIME_WINDOWS = _table(
    {
        "weekend": [r"\b(week-?ends?|samedis?|dimanches?|saturdays?|sundays?)\b"],
        "evening": [r"\b(soirs?|soir[ée]es?|apr[èe]s (le travail|18 ?h|19 ?h)|evenings?|after work|after 6)\b"],
        "morning": [r"\b(matins?|matin[ée]es?|avant (9|10) ?h|mornings?)\b"],
        "daytime": [r"\b(journ[ée]e|apr[èe]s-midi|heures de bureau|daytime|afternoon|office hours|during the day)\b"],
    }
)

PAYMENT_MEANS = _table(
    {
        "direct_debit": [r"\b(pr[ée]l[èe]vement|direct debit)\b"],
        "transfer": [r"\b(virement|transfer|bank transfer|wire)\b"],
        "card": [r"\b(carte( bancaire| bleue)?|cb|card)\b"],
        "cheque": [r"\b(ch[èe]que|cheque|check)\b"],
        "cash": [r"\b(esp[èe]ces|liquide|cash)\b"],
    }
)

# "other": a language the assistant does not write (it then keeps the conversation's language and says so).
LANGUAGES = _table(
    {
        "en": [r"\b(anglais|english|inglés)\b"],
        "fr": [r"\b(fran[çc]ais|french)\b"],
        "other": [
            r"\b(espagnol|spanish|español|portugais|portuguese|italien|italian|allemand|german|polonais|polish"
            r"|roumain|romanian|arabe|arabic|turc|turkish|russe|russian|ukrainien|ukrainian|chinois|chinese|mandarin"
            r"|n[ée]erlandais|dutch|ourdou|urdu|hindi|bengali|punjabi|pendjabi|tamoul|tamil|vietnamien|vietnamese"
            r"|bulgare|bulgarian|lituanien|lithuanian|hongrois|hungarian|tch[èe]que|czech|albanais|albanian"
            r"|serbe|serbian|croate|croatian|grec|greek|persan|persian|farsi|somali|wolof|lingala|berb[èe]re"
            r"|tamazight|cr[ée]ole|creole)\b"
        ],
    }
)


def _first(text: str, table: list[tuple[str, re.Pattern[str]]]) -> Match | None:
    for code, pattern in table:
        found = pattern.search(text)
        if found:
            return Match(code, found.start(), found.end())
    return None


def hardship_reason(text: str) -> Match | None:
    return _first(text, HARDSHIP_REASONS)


def dispute_reason(text: str) -> Match | None:
    return _first(text, DISPUTE_REASONS)


def contact_channel(text: str) -> str | None:
    found = _first(text, CHANNELS)
    return found.value if found else None


def time_window(text: str) -> str | None:
    found = _first(text, TIME_WINDOWS)
    return found.value if found else None


def payment_means(text: str) -> str | None:
    found = _first(text, PAYMENT_MEANS)
    return found.value if found else None


def requested_language(text: str) -> str | None:
    """The language a debtor asks for ("in English please"): "fr", "en", "other" (one we do not write), or None."""
    found = _first(unicodedata.normalize("NFC", text), LANGUAGES)
    return found.value if found else None
