"""Bot replies as SMS / WhatsApp text: GSM-7 vs UCS-2 segment counting, cheap French, buttons as numbers, short links.

Standard library only, so both the api (Python 3.11+) and the Rasa environment (3.10) can import it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import Literal, NamedTuple

# GSM 03.38 default alphabet (the escape 0x1B is not a character of its own, so it is left out).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: each of these costs an escape septet plus its own, so 2 septets.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_PART = 160, 153  # a concatenated part loses 7 septets to its header
UCS2_SINGLE, UCS2_PART = 70, 67

Encoding = Literal["GSM-7", "UCS-2"]


class SegmentInfo(NamedTuple):
    encoding: Encoding
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int
    per_segment: int  # capacity of one segment as sent: single-segment size, or the concatenated part size


def is_gsm7(char: str) -> bool:
    return char in GSM7_BASIC or char in GSM7_EXTENSION


def encoding(text: str) -> Encoding:
    return "GSM-7" if all(is_gsm7(char) for char in text) else "UCS-2"


def segment_info(text: str) -> SegmentInfo:
    """How many SMS segments `text` costs, as a carrier counts them.

    A character is never split between two parts (an escaped GSM-7 character, a UTF-16 surrogate pair),
    so a long message can need one part more than units / part size.
    """
    if encoding(text) == "GSM-7":
        costs = [2 if char in GSM7_EXTENSION else 1 for char in text]
        single, part = GSM7_SINGLE, GSM7_PART
        kind: Encoding = "GSM-7"
    else:
        costs = [2 if ord(char) > 0xFFFF else 1 for char in text]
        single, part = UCS2_SINGLE, UCS2_PART
        kind = "UCS-2"
    units = sum(costs)
    if units <= single:
        return SegmentInfo(kind, units, 1, single)
    return SegmentInfo(kind, units, _parts(costs, part), part)


def _parts(costs: Sequence[int], capacity: int) -> int:
    parts, used = 1, 0
    for cost in costs:
        if used + cost > capacity:
            parts, used = parts + 1, 0
        used += cost
    return parts


# Characters NFKD leaves alone (or turns into nothing encodable) but that have an obvious GSM-7 stand-in.
_STAND_INS = {
    **dict.fromkeys("‘’‚‛′‹›`´", "'"),
    **dict.fromkeys("“”„‟″«»", '"'),
    **dict.fromkeys("‐‑‒–—―−", "-"),
    "•": "-",
    "·": ".",
    "°": "o",  # "n°" -> "no"
    "⁄": "/",
    "œ": "oe",
    "Œ": "OE",
}
# French puts a (non-breaking) space inside « »; once they become plain quotes the spaces would look odd.
_FRENCH_QUOTES = re.compile(r"«\s*|\s*»")


def to_gsm7(text: str) -> str:
    """The closest text that GSM-7 can carry: French loses only the accents GSM-7 lacks (ê -> e), not é è à ù."""
    text = _FRENCH_QUOTES.sub(lambda m: '"', unicodedata.normalize("NFC", text))
    return "".join(_gsm7_char(char) for char in text)


def _gsm7_char(char: str) -> str:
    if is_gsm7(char):
        return char
    if char in _STAND_INS:
        return _STAND_INS[char]
    category = unicodedata.category(char)
    if category in ("Mn", "Me", "Cf"):  # stray accents, zero-width joiners, emoji variation selectors
        return ""
    if char.isspace():
        return " "
    decomposed = "".join(c for c in unicodedata.normalize("NFKD", char) if unicodedata.category(c) != "Mn")
    if decomposed and decomposed != char:
        return "".join(_gsm7_char(c) for c in decomposed)
    return "?"


def render(text: str, buttons: Sequence[Mapping[str, str]] | None, *, hint: str) -> str:
    """`text`, then one numbered line per button, then `hint` (how to answer, in the debtor's language)."""
    if not buttons:
        return text
    lines = [text] if text else []
    lines += [f"{number}. {button['title']}" for number, button in enumerate(buttons, start=1)]
    if hint:
        lines.append(hint)
    return "\n".join(lines)


# A reply that is only a number, optionally introduced the way people do ("n°2", "option 2", "#2", "2.").
_CHOICE = re.compile(
    r"\s*(?:n\s*[°º]|n[or]?\.|num(?:[ée]ro)?\.?|option|choix|choice|#)?\s*([0-9]{1,2})\s*[.)]?\s*",
    re.IGNORECASE,
)


def button_choice(reply: str, buttons: Sequence[Mapping[str, str]] | None) -> str | None:
    """The payload of the button whose number the debtor answered, or None if the reply is not such a number."""
    match = _CHOICE.fullmatch(reply or "")
    if not match or not buttons:
        return None
    number = int(match.group(1))
    if not 1 <= number <= len(buttons):
        return None
    return buttons[number - 1]["payload"]


# An http(s) URL, without the punctuation that usually follows one in a sentence or wraps it in markdown.
LINK_RE = re.compile(r"https?://[^\s<>\"'()\[\]{}]*[^\s<>\"'()\[\]{}.,;:!?]", re.IGNORECASE)


def replace_links(text: str, shorten: Callable[[str], str]) -> str:
    return LINK_RE.sub(lambda match: shorten(match.group(0)), text)
