"""Rules of conduct applied before the bot sees a message (DESIGN.md §5)."""

from __future__ import annotations

import unicodedata

# Opt-out keywords honoured whatever the bot's understanding (Reg F §1006.6(e), CTIA keywords, French ARRET).
OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPP", "STOPALL", "STOP ALL", "STOP SMS", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "ARRET", "ARRETER", "ARRETEZ"}
)
# Phone-messaging keywords (CTIA): START/UNSTOP resume a channel after an opt-out, HELP/AIDE get who we
# are and how to reach a person.
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP"})
HELP_KEYWORDS = frozenset({"HELP", "AIDE", "INFO"})
# Keywords that say which language the debtor writes in.
FRENCH_KEYWORDS = frozenset({"ARRET", "ARRETER", "ARRETEZ", "AIDE"})
STOP_INTENT_PAYLOAD = "/stop_contact"


def _keyword_form(text: str) -> str:
    without_accents = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    letters = "".join(ch if ch.isalnum() else " " for ch in without_accents.upper())
    return " ".join(letters.split())


def is_opt_out_keyword(text: str) -> bool:
    """True for a message that is only an opt-out keyword ("STOP", "Arrêt !", "stop sms")."""
    return _keyword_form(text) in OPT_OUT_KEYWORDS


def phone_keyword(text: str) -> str | None:
    """'opt_out', 'opt_in' or 'help' for a message that is only such a keyword, else None."""
    form = _keyword_form(text)
    if form in OPT_OUT_KEYWORDS:
        return "opt_out"
    if form in OPT_IN_KEYWORDS:
        return "opt_in"
    if form in HELP_KEYWORDS:
        return "help"
    return None


def keyword_language(text: str) -> str | None:
    return "fr" if _keyword_form(text) in FRENCH_KEYWORDS else None


def bot_input(text: str) -> str:
    """What the bot is given for a debtor's message: opt-out keywords become the stop intent itself."""
    return STOP_INTENT_PAYLOAD if is_opt_out_keyword(text) else text
