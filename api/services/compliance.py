"""Rules of conduct applied before the bot sees a message (DESIGN.md §5)."""

from __future__ import annotations

import re
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
# A request to stop, in any wording (Reg F §1006.6(e)): high-precision phrases, in both languages, honoured
# whatever the model understands (matched on the keyword form: upper case, no accents, no punctuation).
# Calls and e-mail are left to the model: "stop calling me at work, e-mail me" is a preference about another
# medium, not a request to stop writing here.
OPT_OUT_PHRASES = re.compile(
    r"\b(?:"
    # French
    r"JE NE VEUX PLUS (?:(?:DE |DES )?(?:VOS |TES )?(?:MESSAGES?|SMS|TEXTOS?|APPELS?|NOUVELLES)|ETRE CONTACTEE?|RIEN RECEVOIR)"
    r"|NE (?:ME |M )?(?:CONTACTEZ|ECRIVEZ|RELANCEZ|ENVOYEZ) PLUS"
    r"|NE PLUS (?:ME )?(?:CONTACTER|ECRIRE|RELANCER)"
    r"|(?:CESSEZ|ARRETEZ|ARRETE|CESSE) DE (?:ME |M )?(?:CONTACTER|ECRIRE|RELANCER|HARCELER|ENVOYER)"
    r"|RETIREZ MOI DE (?:VOTRE|VOS|LA) (?:LISTE|FICHIER|LISTES)"
    r"|(?:DESINSCRIVEZ|DESABONNEZ) MOI|ME DESINSCRIRE|ME DESABONNER"
    r"|PLUS DE (?:MESSAGES|SMS|TEXTOS|RELANCES) (?:SVP|MERCI|S IL VOUS PLAIT)"
    r"|LAISSEZ MOI TRANQUILLE|FOUTEZ MOI LA PAIX|LACHEZ MOI"
    # English
    r"|UNSUBSCRIBE(?: ME)?"
    r"|(?:DON T|DO NOT|DONT) (?:EVER )?(?:MESSAGE|TEXT|CONTACT|WRITE TO) ME"
    r"|STOP (?:MESSAGING|TEXTING|CONTACTING|WRITING TO|HARASSING) ME"
    r"|TAKE ME OFF (?:YOUR|THE|THIS) (?:MAILING )?LIST"
    r"|REMOVE ME FROM (?:YOUR|THE|THIS) (?:MAILING )?LIST"
    r"|OPT ME OUT|I WANT TO OPT OUT"
    r"|NO MORE (?:MESSAGES|TEXTS|CALLS)"
    r"|LEAVE ME ALONE"
    r")\b"
)


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


def is_opt_out_request(text: str) -> bool:
    """An opt-out keyword alone, or a sentence that asks us to stop in so many words."""
    return is_opt_out_keyword(text) or OPT_OUT_PHRASES.search(_keyword_form(text)) is not None


def bot_input(text: str) -> str:
    """What the bot is given for a debtor's message: a request to stop becomes the stop intent itself."""
    return STOP_INTENT_PAYLOAD if is_opt_out_request(text) else text
