"""Read amounts, dates, frequencies and identity details out of debtors' free text, in French and English.

Pure functions, no I/O. Money is integer minor units. Each `find_*` function returns every match with its
span, so the NLU component can report where an entity sits; the `parse_*` helpers return the best one.
"""

from __future__ import annotations

import calendar
import datetime
import re
from dataclasses import dataclass
from typing import Callable, Generic, Iterable, Optional, Sequence, TypeVar

import dateparser

T = TypeVar("T")

SUPPORTED_LANGUAGES = ("fr", "en")
FLAGS = re.IGNORECASE


@dataclass(frozen=True)
class Money:
    minor: int  # integer minor units (cents)
    currency: str  # ISO 4217, e.g. "EUR", "GBP", "USD"


@dataclass(frozen=True)
class Found(Generic[T]):
    """A value read from `text[start:end]`."""

    value: T
    start: int
    end: int

    def overlaps(self, other: "Found[object]") -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class FoundAmount(Found[Money]):
    has_unit: bool = True  # False for a bare number that took the default currency


@dataclass(frozen=True)
class FoundDate(Found[datetime.date]):
    has_year: bool = False  # the text named the year, so the date may lie in the past


def languages_for(language: str) -> tuple[str, ...]:
    """Rules to apply for a language code ("fr", "en-GB"...); unknown languages get every rule set."""
    code = (language or "").lower()[:2]
    return (code,) if code in SUPPORTED_LANGUAGES else SUPPORTED_LANGUAGES


def _select_non_overlapping(candidates: Iterable[Found[T]]) -> list[Found[T]]:
    """Keep the longest candidates that do not overlap each other, in text order."""
    chosen: list[Found[T]] = []
    for candidate in sorted(candidates, key=lambda c: (-(c.end - c.start), c.start)):
        if not any(candidate.overlaps(kept) for kept in chosen):
            chosen.append(candidate)
    return sorted(chosen, key=lambda c: c.start)


def _outside(candidates: Iterable[Found[T]], taken: Sequence[Found[object]]) -> list[Found[T]]:
    return [c for c in candidates if not any(c.overlaps(t) for t in taken)]


# ---------------------------------------------------------------------------------------------------------
# Number words (0-9999)
# ---------------------------------------------------------------------------------------------------------

_FRENCH_NUMBER_WORDS = {
    "zéro": 0,
    "zero": 0,
    "un": 1,
    "une": 1,
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "cinq": 5,
    "six": 6,
    "sept": 7,
    "huit": 8,
    "neuf": 9,
    "dix": 10,
    "onze": 11,
    "douze": 12,
    "treize": 13,
    "quatorze": 14,
    "quinze": 15,
    "seize": 16,
    "vingt": 20,
    "vingts": 20,
    "trente": 30,
    "quarante": 40,
    "cinquante": 50,
    "soixante": 60,
    "septante": 70,
    "huitante": 80,
    "octante": 80,
    "nonante": 90,
    "cent": 100,
    "cents": 100,
    "mille": 1000,
}
_ENGLISH_NUMBER_WORDS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
    "thousand": 1000,
}
NUMBER_WORDS = {"fr": _FRENCH_NUMBER_WORDS, "en": _ENGLISH_NUMBER_WORDS}
_CONNECTORS = {"fr": "et", "en": "and"}


def _number_phrase_pattern(language: str) -> str:
    words = sorted(NUMBER_WORDS[language], key=len, reverse=True)
    word = r"\b(?:" + "|".join(words) + r")\b"
    joiner = rf"(?:[\s-]+(?:{_CONNECTORS[language]}[\s-]+)?)"
    # English says "a hundred"; the article only counts in front of hundred/thousand.
    article = r"(?:\ban?\s+(?=(?:hundred|thousand)\b))?" if language == "en" else ""
    return rf"{article}{word}(?:{joiner}{word})*"


NUMBER_PHRASE = {language: _number_phrase_pattern(language) for language in SUPPORTED_LANGUAGES}


def parse_number_words(text: str, language: str) -> int | None:
    """Value of a spelled-out number such as "quatre-vingt-dix-sept" or "two hundred and fifty"."""
    vocabulary = NUMBER_WORDS.get(language)
    if vocabulary is None:
        return None
    tokens = [t for t in re.split(r"[\s-]+", text.strip().lower()) if t and t != _CONNECTORS[language]]
    if language == "en" and tokens and tokens[0] in ("a", "an"):
        tokens[0] = "one"
    if not tokens or any(t not in vocabulary for t in tokens):
        return None
    total, current, previous = 0, 0, ""
    for token in tokens:
        value = vocabulary[token]
        if value == 1000:
            total += (current or 1) * 1000
            current = 0
        elif value == 100:
            if current >= 100:
                return None  # "deux cent cent" is not a number
            current = (current or 1) * 100
        elif language == "fr" and value == 20 and previous == "quatre":
            current += 80 - 4  # "quatre-vingt" is four twenties
        else:
            tens_and_units = current % 100
            if value < 10 and tens_and_units % 10:
                return None  # "deux trois" is a list, not a number
            # only "soixante-dix", "quatre-vingt-douze"... put a teen after tens
            if value >= 10 and tens_and_units and not (language == "fr" and tens_and_units in (60, 80) and value < 20):
                return None
            current += value
        previous = token
    result = total + current
    return result if result <= 9999 else None


# ---------------------------------------------------------------------------------------------------------
# References and postcodes
# ---------------------------------------------------------------------------------------------------------

_REFERENCE = re.compile(r"(?<![\w-])([a-z]{2,4})[-‐‑–]\s?(\d{3,10})(?![\w-])", FLAGS)
_UK_POSTCODE = re.compile(r"\b([a-z]{1,2}\d[a-z\d]?)\s*(\d[a-z]{2})\b", FLAGS)
# Metropolitan and overseas French postcodes: 01000-98999.
_FRENCH_POSTCODE = re.compile(r"(?<![\w.,/-])((?:0[1-9]|[1-8]\d|9[0-8])\d{3})(?![\w/]|[.,]\d)")


# Any other reference a creditor may print: letters and digits with single separators ("HX482913",
# "2024/000123", "FAC-2023-0045"). Told apart from amounts, dates, times, phone numbers and postcodes below.
_REFERENCE_SHAPE = r"[a-z0-9]+(?:[-/_][a-z0-9]+)*"
_REFERENCE_TOKEN = re.compile(rf"(?<![\w/@.-])({_REFERENCE_SHAPE})(?!\w|[-/_@]\w|\.\w)", FLAGS)
_NOT_A_REFERENCE = [
    re.compile(pattern, FLAGS)
    for pattern in (
        r"\d{1,4}[-/]\d{1,2}(?:[-/]\d{1,4})?",  # a date: 15/12/2026, 2026-12-15, 12/05
        r"\d+(?:k|e|eur|euros?|gbp|usd|quid|dollars?|pounds?|livres?)",  # an amount: 1200eur, 300quid
        r"(?:eur|gbp|usd)\d+",
        r"\d{1,2}h\d{0,2}",  # a time: 14h30
        r"\d+x\d+",  # 3x100
        r"\d+(?:st|nd|rd|th|er|ère|eme|ème)",  # an ordinal
    )
]


def _looks_like_reference(token: str) -> bool:
    if not 5 <= len(token) <= 40 or sum(c.isdigit() for c in token) < 3:
        return False
    if any(pattern.fullmatch(token) for pattern in _NOT_A_REFERENCE):
        return False
    if any(c.isalpha() for c in token):
        return True
    # Digits only: groups apart, one of them long (2024/000123); not a phone number (06-12-34-56-78).
    groups = re.split(r"[-/_]", token)
    return len(groups) > 1 and max(len(group) for group in groups) >= 5


def find_references(text: str) -> list[Found[str]]:
    """File references in the text, uppercase: "CR-10001" (also typed "cr- 10001" or with a typographic dash)
    and the other shapes creditors use. Whether one exists is the api's to check."""
    found = [Found(f"{m[1]}-{m[2]}".upper(), m.start(), m.end()) for m in _REFERENCE.finditer(text)]
    others = [Found(m[1].upper(), m.start(), m.end()) for m in _REFERENCE_TOKEN.finditer(text) if _looks_like_reference(m[1])]
    return _select_non_overlapping([*found, *_outside(others, found)])


def find_reference(text: str) -> str | None:
    """The first file reference in the text ("CR-10001", "HX482913", "2024/000123"), uppercase."""
    found = find_references(text)
    return found[0].value if found else None


def parse_reference_answer(text: str) -> str | None:
    """The reference in a reply to "what is your file reference?": one found in the text, else the whole reply
    when it is a single word of letters and digits with a digit in it (a creditor's all-digit "123456789")."""
    found = find_reference(text)
    if found is not None:
        return found
    word = text.strip().strip(".!?,;:").strip()
    if not (3 <= len(word) <= 40 and any(c.isdigit() for c in word)):
        return None
    if not re.fullmatch(_REFERENCE_SHAPE, word, FLAGS) or any(p.fullmatch(word) for p in _NOT_A_REFERENCE):
        return None  # a date, an amount, a time: an answer to another question
    return word.upper()


def find_postcodes(text: str, taken: Sequence[Found[object]] = ()) -> list[Found[str]]:
    """French and UK postcodes outside references, amounts and dates (pass those as `taken`)."""
    taken = [*taken, *find_references(text)]
    candidates: list[Found[str]] = [Found((m[1] + m[2]).upper(), m.start(), m.end()) for m in _UK_POSTCODE.finditer(text)]
    candidates += [Found(m[1], m.start(), m.end()) for m in _FRENCH_POSTCODE.finditer(text)]
    return _select_non_overlapping(_outside(candidates, taken))


def normalise_postcode(text: str) -> str | None:
    """The postcode in the text, uppercase without spaces: "75011", "SW1A1AA"."""
    taken = find_currency_amounts(text, SUPPORTED_LANGUAGES, "EUR")
    found = find_postcodes(text, taken)
    return found[0].value if found else None


# ---------------------------------------------------------------------------------------------------------
# Amounts
# ---------------------------------------------------------------------------------------------------------

# Unit words that follow the number, with the currency they name. "balles" is French slang for euros,
# "quid" British slang for pounds.
_UNITS_AFTER = (
    (r"€|euros?\b|eur\b|balles?\b", "EUR"),
    (r"£|gbp\b|(?:pounds?|livres?)(?:\s+sterling)?\b|quids?\b|sterling\b", "GBP"),
    (r"\$|usd\b|dollars?\b|bucks\b", "USD"),
)
_UNITS_BEFORE = ((r"€|eur\b", "EUR"), (r"£|gbp\b", "GBP"), (r"\$|usd\b|us\$", "USD"))
# Minor units alone ("50 centimes", "80p"); "cents" takes the default currency.
_MINOR_UNITS = ((r"centimes?\b", "EUR"), (r"pence\b|p\b", "GBP"), (r"cents?\b", None))

# Thousands grouped by space, dot or comma, then an optional decimal part of one or two digits.
_NUMBER = r"(?:\d{1,3}(?:[ \u00a0\u202f.,]\d{3})+|\d+)(?:[.,]\d{1,2}(?!\d))?"
_NUMBER_START = r"(?<![\w.,/:+#°-])"


def _unit_group(units: Sequence[tuple[str, object]]) -> str:
    return "|".join(f"(?P<u{i}>{pattern})" for i, (pattern, _) in enumerate(units))


def _unit_currency(match: re.Match[str], units: Sequence[tuple[str, object]]) -> object:
    for i, (_, currency) in enumerate(units):
        if match.group(f"u{i}"):
            return currency
    raise ValueError("no unit matched")


_AMOUNT_WITH_UNIT_AFTER = re.compile(
    rf"{_NUMBER_START}(?P<number>{_NUMBER})\s*(?:{_unit_group(_UNITS_AFTER)})"
    # French writes "30€50"; either language may add "et 50 centimes" / "and 50 pence".
    rf"(?:(?P<attached_cents>\d{{2}})(?!\d)|\s+(?:et\s+|and\s+)?(?P<cents>\d{{1,2}})\s*"
    rf"(?:centimes?|cents?|pence|p)\b)?",
    FLAGS,
)
_AMOUNT_WITH_UNIT_BEFORE = re.compile(rf"(?<!\w)(?:{_unit_group(_UNITS_BEFORE)})\s*(?P<number>{_NUMBER})(?![\d\w])", FLAGS)
_MINOR_AMOUNT = re.compile(rf"{_NUMBER_START}(?P<number>\d{{1,2}})\s*(?:{_unit_group(_MINOR_UNITS)})", FLAGS)
_BARE_NUMBER = re.compile(rf"{_NUMBER_START}(?P<number>{_NUMBER})(?![\w/:%]|[.,]\d)", FLAGS)
# A bare number followed by a noun counts something ("2 enfants", "3 fois", "12 months"); only these
# words may follow a bare number that is an amount ("100 par mois", "50 now", "80 le 15").
_WORDS_AFTER_BARE_AMOUNT = frozenset(
    [
        "par",
        "le",
        "la",
        "les",
        "à",
        "a",
        "au",
        "aux",
        "de",
        "du",
        "des",
        "dès",
        "chaque",
        "tous",
        "toutes",
        "tout",
        "maintenant",
        "aujourd'hui",
        "demain",
        "ce",
        "cette",
        "en",
        "pour",
        "et",
        "ou",
        "mais",
        "max",
        "maximum",
        "environ",
        "svp",
        "merci",
        "ok",
        "vers",
        "sur",
        "avant",
        "après",
        "jusqu'à",
        "jusqu'au",
        "d'ici",
        "si",
        "c'est",
        "je",
        "on",
        "per",
        "every",
        "each",
        "by",
        "from",
        "now",
        "today",
        "tomorrow",
        "this",
        "next",
        "in",
        "for",
        "and",
        "or",
        "but",
        "please",
        "thanks",
        "at",
        "around",
        "before",
        "after",
        "until",
        "the",
        "starting",
    ]
)
_NEXT_WORD = re.compile(r"\s*([^\W\d_]+(?:['’][^\W\d_]+)?|%)")


def _counts_something(text: str, end: int) -> bool:
    """True when the number ending at `end` is followed by a noun or a percent sign."""
    following = _NEXT_WORD.match(text, end)
    if following is None:
        return False
    word = following[1].lower().replace("’", "'")
    return word == "%" or word not in _WORDS_AFTER_BARE_AMOUNT


# A four-digit number after one of these words is a year ("depuis 2019", "in 2024").
_YEAR_CUE = re.compile(
    r"(?:\b(?:en|in|depuis|since|année|year|né|née|born|jusqu'en|until|avant|before|après|after)\s+)$",
    FLAGS,
)
# Phone numbers and long account numbers are not amounts.
_LONG_DIGIT_RUN = re.compile(r"\+?\d(?:[\s.-]?\d){7,}")


def _to_minor_units(number: str) -> int:
    """ "1 200,50" -> 120050. A final separator followed by one or two digits is the decimal mark."""
    decimal = re.search(r"[.,](\d{1,2})$", number)
    fraction = decimal[1].ljust(2, "0") if decimal else "00"
    whole = number[: decimal.start()] if decimal else number
    return int(re.sub(r"\D", "", whole) or "0") * 100 + int(fraction)


def _currency_amounts_from_digits(text: str, default_currency: str) -> list[FoundAmount]:
    found = []
    for m in _AMOUNT_WITH_UNIT_AFTER.finditer(text):
        cents = m["attached_cents"] or m["cents"]
        minor = _to_minor_units(m["number"]) + (int(cents) if cents else 0)
        currency = str(_unit_currency(m, _UNITS_AFTER))
        found.append(FoundAmount(Money(minor, currency), m.start(), m.end()))
    for m in _AMOUNT_WITH_UNIT_BEFORE.finditer(text):
        currency = str(_unit_currency(m, _UNITS_BEFORE))
        found.append(FoundAmount(Money(_to_minor_units(m["number"]), currency), m.start(), m.end()))
    for m in _MINOR_AMOUNT.finditer(text):
        currency = _unit_currency(m, _MINOR_UNITS) or default_currency
        found.append(FoundAmount(Money(int(m["number"]), str(currency)), m.start(), m.end()))
    return found


# After spelled-out numbers, "un livre" is a book and "une balle" a ball: those units need more context.
_UNITS_AFTER_WORDS = (
    (r"€|euros?\b|eur\b|balles\b", "EUR"),
    (r"£|gbp\b|pounds?(?:\s+sterling)?\b|livres?\s+sterling\b|quids?\b|sterling\b", "GBP"),
    (r"\$|usd\b|dollars?\b|bucks?\b", "USD"),
)


def _currency_amounts_from_words(text: str, language: str) -> list[FoundAmount]:
    pattern = re.compile(rf"(?<![\w-])(?P<words>{NUMBER_PHRASE[language]})\s*(?:{_unit_group(_UNITS_AFTER_WORDS)})", FLAGS)
    found = []
    for m in pattern.finditer(text):
        value = parse_number_words(m["words"], language)
        if value is not None:
            currency = str(_unit_currency(m, _UNITS_AFTER_WORDS))
            found.append(FoundAmount(Money(value * 100, currency), m.start(), m.end()))
    return found


def find_currency_amounts(text: str, languages: Sequence[str], default_currency: str = "EUR") -> list[FoundAmount]:
    """Amounts that carry a currency unit: "30,50 €", "£45", "fifty quid", "50 balles"."""
    candidates: list[FoundAmount] = _currency_amounts_from_digits(text, default_currency)
    for language in languages:
        candidates += _currency_amounts_from_words(text, language)
    return _select_non_overlapping(_outside(candidates, find_references(text)))  # type: ignore[return-value]


def _is_year(text: str, m: re.Match[str]) -> bool:
    number = m["number"]
    return number.isdigit() and len(number) == 4 and 1900 <= int(number) <= 2099 and bool(_YEAR_CUE.search(text[: m.start()]))


def _bare_amounts(
    text: str, languages: Sequence[str], default_currency: str, taken: Sequence[Found[object]]
) -> list[FoundAmount]:
    taken = [*taken, *(Found(None, m.start(), m.end()) for m in _LONG_DIGIT_RUN.finditer(text))]
    found = []
    for m in _BARE_NUMBER.finditer(text):
        number = m["number"]
        if (
            (len(number) > 1 and number.startswith("0") and not re.match(r"0[.,]", number))
            or _counts_something(text, m.end())
            or _is_year(text, m)
        ):
            continue
        found.append(FoundAmount(Money(_to_minor_units(number), default_currency), m.start(), m.end(), False))
    # A reply made of a spelled-out number alone ("cinquante") answers "how much?".
    stripped = text.strip().rstrip(".!?")
    for language in languages:
        value = parse_number_words(stripped, language) if stripped else None
        if value is not None:
            start = text.index(stripped)
            found.append(FoundAmount(Money(value * 100, default_currency), start, start + len(stripped), False))
            break
    return _outside(found, taken)  # type: ignore[return-value]


def find_amounts(
    text: str,
    languages: Sequence[str],
    default_currency: str = "EUR",
    today: datetime.date | None = None,
) -> list[FoundAmount]:
    """Amounts with a currency unit or, when there is none, bare numbers that are not dates,
    references, postcodes, years, counts or phone numbers."""
    with_unit = find_currency_amounts(text, languages, default_currency)
    if with_unit:
        return with_unit
    today = today or datetime.date.today()
    # Exclusions use every language's rules: a French date in an English sentence is still no amount.
    taken: list[Found[object]] = [*find_references(text), *find_dates(text, SUPPORTED_LANGUAGES, today)]
    taken += find_postcodes(text, taken)
    taken += find_frequencies(text, SUPPORTED_LANGUAGES)
    return _select_non_overlapping(_bare_amounts(text, languages, default_currency, taken))  # type: ignore[return-value]


def parse_amount(text: str, language: str, default_currency: str = "EUR") -> Money | None:
    """The amount of money in the text; an amount with a currency unit wins over a bare number."""
    found = find_amounts(text, languages_for(language), default_currency)
    return found[0].value if found else None


# ---------------------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------------------

_MONTHS = {
    "fr": {
        1: r"janvier|janv?",
        2: r"f[ée]vrier|f[ée]vr?",
        3: r"mars",
        4: r"avril|avr",
        5: r"mai",
        6: r"juin",
        7: r"juillet|juil",
        8: r"ao[uû]t",
        9: r"septembre|sept",
        10: r"octobre|oct",
        11: r"novembre|nov",
        12: r"d[ée]cembre|d[ée]c",
    },
    "en": {
        1: r"january|jan",
        2: r"february|feb",
        3: r"march|mar",
        4: r"april|apr",
        5: r"may",
        6: r"june|jun",
        7: r"july|jul",
        8: r"august|aug",
        9: r"september|sept|sep",
        10: r"october|oct",
        11: r"november|nov",
        12: r"december|dec",
    },
}
_WEEKDAYS = {
    "fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
    "en": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
}


def _named_group_alternation(name: str, options: dict[int, str]) -> str:
    return "|".join(f"(?P<{name}{key}>{pattern})" for key, pattern in options.items())


def _group_key(match: re.Match[str], name: str) -> int | None:
    for group, value in match.groupdict().items():
        if value and group.startswith(name) and group[len(name) :].isdigit():
            return int(group[len(name) :])
    return None


def _month_pattern(language: str) -> str:
    return rf"\b(?:{_named_group_alternation('month', _MONTHS[language])})\b\.?"


def _weekday_pattern(language: str) -> str:
    days = dict(enumerate(_WEEKDAYS[language]))
    return rf"\b(?:{_named_group_alternation('weekday', days)})\b"


def days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def add_months(day: datetime.date, months: int) -> datetime.date:
    """Same day `months` later, clamped to the end of a shorter month (31 Jan + 1 month = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return datetime.date(year, month + 1, min(day.day, days_in_month(year, month + 1)))


def end_of_month(day: datetime.date) -> datetime.date:
    return day.replace(day=days_in_month(day.year, day.month))


def next_day_of_month(today: datetime.date, day: int) -> datetime.date | None:
    """The first date on or after today that falls on this day of the month."""
    for months_ahead in range(13):
        first = add_months(today.replace(day=1), months_ahead)
        if day <= days_in_month(first.year, first.month):
            candidate = first.replace(day=day)
            if candidate >= today:
                return candidate
    return None


def next_date_in_year(today: datetime.date, month: int, day: int) -> datetime.date | None:
    """The first date on or after today with this month and day (29 February waits for a leap year)."""
    for year in range(today.year, today.year + 9):
        try:
            candidate = datetime.date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    return None


def next_weekday(today: datetime.date, weekday: int, include_today: bool) -> datetime.date:
    days_ahead = (weekday - today.weekday()) % 7
    if days_ahead == 0 and not include_today:
        days_ahead = 7
    return today + datetime.timedelta(days=days_ahead)


def _full_year(year: str, today: datetime.date) -> int:
    """Two-digit years: "26" is 2026, "85" is 1985 (the 2000s only up to ten years ahead)."""
    if len(year) == 4:
        return int(year)
    in_this_century = 2000 + int(year)
    return in_this_century if in_this_century <= today.year + 10 else in_this_century - 100


def _day_number(token: str) -> int:
    token = token.lower()
    if token in ("1er", "premier", "first"):
        return 1
    return int(re.match(r"\d+", token)[0])  # type: ignore[index]


def _safe_date(year: int, month: int, day: int) -> datetime.date | None:
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


def _date_from_parts(day: int, month: int, year: str | None, today: datetime.date) -> datetime.date | None:
    if year is None:
        return next_date_in_year(today, month, day) if _safe_date(2000, month, day) else None
    return _safe_date(_full_year(year, today), month, day)


@dataclass(frozen=True)
class _DateRule:
    pattern: re.Pattern[str]
    resolve: Callable[[re.Match[str], datetime.date], Optional[datetime.date]]
    has_year: Callable[[re.Match[str]], bool] = lambda m: False


def _numeric_dmy(m: re.Match[str], today: datetime.date) -> datetime.date | None:
    first, second, year = int(m["first"]), int(m["second"]), m.groupdict().get("year")
    resolved = _date_from_parts(first, second, year, today)
    if resolved is None and second > 12 >= first:
        # Day-first is the rule in France and the UK; "12/15/2026" can only be American.
        resolved = _date_from_parts(second, first, year, today)
    return resolved


def _day_with_month(m: re.Match[str], today: datetime.date) -> datetime.date | None:
    month = _group_key(m, "month")
    return _date_from_parts(_day_number(m["day"]), month, m["year"], today) if month else None


def _day_of_month(m: re.Match[str], today: datetime.date) -> datetime.date | None:
    day = _day_number(m["day"])
    groups = m.groupdict()
    # English "the 15" needs a preposition ("on the 15") or an ordinal ("15th"): "pay the 30" is money.
    if "ordinal" in groups and not (groups["ordinal"] or (groups["preposition"] and groups["the"])):
        return None
    if not 1 <= day <= 31:
        return None
    if m.groupdict().get("next_month"):
        first = add_months(today.replace(day=1), 1)
        return first.replace(day=min(day, days_in_month(first.year, first.month)))
    return next_day_of_month(today, day)


def _weekday(m: re.Match[str], today: datetime.date) -> datetime.date | None:
    weekday = _group_key(m, "weekday")
    if weekday is None:
        return None
    # "ce vendredi" / "this Friday" may be today; a bare or "next" weekday is a later one.
    return next_weekday(today, weekday, include_today=bool(m.groupdict().get("this")))


def _end_of_month(m: re.Match[str], today: datetime.date) -> datetime.date | None:
    if m.groupdict().get("next_month"):
        return end_of_month(add_months(today.replace(day=1), 1))
    last = end_of_month(today)
    return last if last > today else end_of_month(add_months(today.replace(day=1), 1))


def _start_of_next_month(m: re.Match[str], today: datetime.date) -> datetime.date | None:
    if today.day == 1 and not m.groupdict().get("next_month"):
        return today
    return add_months(today.replace(day=1), 1)


def _edge_of_named_month(m: re.Match[str], today: datetime.date) -> datetime.date | None:
    month = _group_key(m, "month")
    if month is None:
        return None
    edge = m["edge"].lower()
    if edge.startswith(("fin", "end")):
        year = today.year if month >= today.month else today.year + 1
        return end_of_month(datetime.date(year, month, 1))
    day = 15 if edge.startswith("mi") else 1
    return next_date_in_year(today, month, day)


def _same_day_next_month(m: re.Match[str], today: datetime.date) -> datetime.date | None:
    return add_months(today, 1)


def _fixed_offset(days: int) -> Callable[[re.Match[str], datetime.date], datetime.date]:
    return lambda m, today: today + datetime.timedelta(days=days)


def _dateparser_relative(language: str) -> Callable[[re.Match[str], datetime.date], Optional[datetime.date]]:
    """Offsets such as "dans deux semaines" / "in 3 months": dateparser knows them; our arithmetic is
    the fallback for what it misses ("dans quinze jours" is French for two weeks)."""

    def resolve(m: re.Match[str], today: datetime.date) -> datetime.date | None:
        count_text, unit = m["count"].lower(), m["unit"].lower()
        if count_text == "quinze" and unit.startswith("jour"):
            return today + datetime.timedelta(days=14)
        settings = {
            "PREFER_DATES_FROM": "future",
            "DATE_ORDER": "DMY",
            "RELATIVE_BASE": datetime.datetime.combine(today, datetime.time(12)),
        }
        parsed = dateparser.parse(m[0], languages=[language], settings=settings)
        if parsed is not None and parsed.date() >= today:
            return parsed.date()
        count = int(count_text) if count_text.isdigit() else parse_number_words(count_text, language)
        if count_text in ("a", "an", "un", "une"):
            count = 1
        if count is None:
            return None
        if unit.startswith(("jour", "day")):
            return today + datetime.timedelta(days=count)
        if unit.startswith(("semaine", "week")):
            return today + datetime.timedelta(weeks=count)
        if unit.startswith(("mois", "month")):
            return add_months(today, count)
        return add_months(today, 12 * count)

    return resolve


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, FLAGS)


def _has_year(m: re.Match[str]) -> bool:
    return bool(m["year"])


def _date_rules(language: str) -> list[_DateRule]:
    month, weekday = _month_pattern(language), _weekday_pattern(language)
    ordinal = r"(?:st|nd|rd|th)"
    year = r"(?:,?\s+(?P<year>\d{4}))?\b"
    count = rf"(?P<count>\d{{1,3}}|{NUMBER_PHRASE[language]}|an?)"
    common = [
        _DateRule(
            _compile(r"\b(?P<year>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b"),
            lambda m, today: _safe_date(int(m["year"]), int(m["m"]), int(m["d"])),
            _has_year,
        ),
        _DateRule(
            _compile(
                r"(?<![\w.,/-])(?P<first>\d{1,2})([/.-])(?P<second>\d{1,2})\2(?P<year>\d{4}|\d{2})"
                r"(?![\w/]|[.,-]\d)"
            ),
            _numeric_dmy,
            _has_year,
        ),
        _DateRule(_compile(r"(?<![\w.,/-])(?P<first>\d{1,2})/(?P<second>\d{1,2})(?![\w/]|[.,-]\d)"), _numeric_dmy),
    ]
    if language == "fr":
        day = r"(?P<day>\d{1,2}|1er|premier)"
        return common + [
            _DateRule(
                _compile(rf"(?:\ble\s+)?(?:{weekday}\s+)?(?<!\d){day}\s+(?:de\s+)?{month}{year}"), _day_with_month, _has_year
            ),
            _DateRule(
                _compile(
                    rf"\b(?:le|du|au)\s+(?:{weekday}\s+)?(?P<day>\d{{1,2}}|1er)(?![\w/:]|[.,]\d|\s*h\b|\s+(?:fois|jours?|semaines?|ans?)\b)"
                    r"(?:\s+(?:du\s+|de\s+ce\s+)mois(?P<next_month>\s+prochain)?)?"
                ),
                _day_of_month,
            ),
            _DateRule(_compile(rf"(?:\b(?P<this>ce)\s+|\ble\s+)?{weekday}(?:\s+(?:prochain|qui\s+vient))?"), _weekday),
            _DateRule(_compile(r"\b(?:[àa]\s+la\s+)?fin\s+(?:du|de|de\s+ce)\s+mois(?P<next_month>\s+prochain)?"), _end_of_month),
            _DateRule(_compile(r"\b(?:au\s+)?d[ée]but\s+(?:du\s+|de\s+)?mois(?P<next_month>\s+prochain)?"), _start_of_next_month),
            _DateRule(_compile(rf"\b(?P<edge>fin|d[ée]but|mi)[\s-]+(?:d'|de\s+)?{month}"), _edge_of_named_month),
            _DateRule(_compile(r"\b(?:le\s+)?mois\s+prochain\b"), _same_day_next_month),
            _DateRule(_compile(r"\b(?:la\s+)?semaine\s+prochaine\b"), _fixed_offset(7)),
            _DateRule(_compile(r"\baujourd['’]hui\b|\bce\s+soir\b"), _fixed_offset(0)),
            _DateRule(_compile(r"\bdemain\b"), _fixed_offset(1)),
            _DateRule(_compile(r"\bapr[eè]s[\s-]demain\b"), _fixed_offset(2)),
            _DateRule(
                _compile(rf"\b(?:dans|d['’]ici)\s+{count}\s+(?P<unit>jours?|semaines?|mois|ans?)\b"), _dateparser_relative("fr")
            ),
        ]
    day = r"(?P<day>\d{1,2})"
    return common + [
        _DateRule(
            _compile(rf"(?:\bthe\s+)?(?:{weekday},?\s+(?:the\s+)?)?(?<!\d){day}{ordinal}?\s+(?:of\s+)?{month}{year}"),
            _day_with_month,
            _has_year,
        ),
        _DateRule(_compile(rf"(?:{weekday},?\s+)?{month}\s+(?:the\s+)?{day}{ordinal}?(?!\d){year}"), _day_with_month, _has_year),
        _DateRule(
            _compile(
                rf"(?:\b(?P<preposition>on|by|before|until|till|from|after)\s+)?(?:\b(?P<the>the)\s+)?"
                rf"(?:{weekday},?\s+(?:the\s+)?)?(?<!\d){day}(?P<ordinal>{ordinal})?\b(?![:.,]\d)"
                r"(?:\s+of\s+(?:the\s+)?(?:(?P<next_month>next)|this)\s+month)?"
            ),
            _day_of_month,
        ),
        _DateRule(_compile(rf"(?:\b(?:(?P<this>this)|next|on|coming)\s+)?{weekday}"), _weekday),
        _DateRule(
            _compile(
                r"\b(?:(?:at|by)\s+)?(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?"
                r"(?:(?P<next_month>next\s+)?month)\b"
            ),
            _end_of_month,
        ),
        _DateRule(
            _compile(
                r"\b(?:at\s+)?(?:the\s+)?(?:start|beginning)\s+of\s+(?:the\s+|this\s+)?"
                r"(?:(?P<next_month>next\s+)?month)\b"
            ),
            _start_of_next_month,
        ),
        _DateRule(_compile(rf"\b(?P<edge>end|start|beginning|mid)(?:\s+of|-)?\s*{month}"), _edge_of_named_month),
        _DateRule(_compile(r"\bnext\s+month\b"), _same_day_next_month),
        _DateRule(_compile(r"\bnext\s+week\b"), _fixed_offset(7)),
        _DateRule(_compile(r"\b(?:today|tonight)\b"), _fixed_offset(0)),
        _DateRule(_compile(r"\btomorrow\b"), _fixed_offset(1)),
        _DateRule(_compile(r"\b(?:the\s+)?day\s+after\s+tomorrow\b"), _fixed_offset(2)),
        _DateRule(_compile(r"\b(?:in|within)\s+a\s+fortnight\b"), _fixed_offset(14)),
        _DateRule(_compile(rf"\b(?:in|within)\s+{count}\s+(?P<unit>days?|weeks?|months?|years?)\b"), _dateparser_relative("en")),
    ]


DATE_RULES = {language: _date_rules(language) for language in SUPPORTED_LANGUAGES}


def find_dates(text: str, languages: Sequence[str], today: datetime.date) -> list[FoundDate]:
    """Every date in the text, resolved against `today`; amounts with a unit and references are not dates."""
    taken: list[Found[object]] = [*find_references(text), *find_currency_amounts(text, SUPPORTED_LANGUAGES)]
    candidates: list[FoundDate] = []
    for language in languages:
        for rule in DATE_RULES[language]:
            for m in rule.pattern.finditer(text):
                resolved = rule.resolve(m, today)
                if resolved is not None:
                    candidates.append(FoundDate(resolved, m.start(), m.end(), rule.has_year(m)))
    return _select_non_overlapping(_outside(candidates, taken))  # type: ignore[return-value]


def is_birth_date(found: FoundDate, today: datetime.date) -> bool:
    """A past date with an explicit year more than ten years back reads as a date of birth."""
    return found.has_year and found.value < today and found.value.year < today.year - 10


def parse_date(text: str, language: str, today: datetime.date) -> datetime.date | None:
    """The (payment) date in the text, resolved against `today`; future-looking phrases resolve to a
    date on or after today."""
    for found in find_dates(text, languages_for(language), today):
        if not is_birth_date(found, today):
            return found.value
    return None


def find_dates_of_birth(text: str, languages: Sequence[str], today: datetime.date) -> list[FoundDate]:
    return [
        found
        for found in find_dates(text, languages, today)
        if found.has_year and found.value < today and found.value.year >= 1900
    ]


def parse_date_of_birth(text: str, language: str, today: datetime.date | None = None) -> datetime.date | None:
    """A full past date (day-first), e.g. "12/03/1985", "born 4 May 1990"; None if absent, in the future
    or before 1900."""
    found = find_dates_of_birth(text, languages_for(language), today or datetime.date.today())
    return found[0].value if found else None


# ---------------------------------------------------------------------------------------------------------
# Frequencies
# ---------------------------------------------------------------------------------------------------------

_FREQUENCY_PATTERNS = {
    "fr": (
        (
            "biweekly",
            r"\btou(?:te)?s\s+les\s+(?:15|quinze)\s+jours\b|\btoutes\s+les\s+(?:2|deux)\s+semaines\b|"
            r"\bune\s+semaine\s+sur\s+deux\b|\b(?:chaque|par)\s+quinzaine\b",
        ),
        (
            "weekly",
            r"\bpar\s+semaine\b|\bchaque\s+semaine\b|\btoutes\s+les\s+semaines\b|"
            r"\bhebdo(?:madaire(?:s|ment)?)?\b|/\s?semaine\b",
        ),
        (
            "monthly",
            r"\bpar\s+mois\b|\bmensuel(?:le)?s?\b|\bmensuellement\b|\bchaque\s+mois\b|"
            r"\btous\s+les\s+mois\b|\bmensualit[ée]s?\b|/\s?mois\b",
        ),
    ),
    "en": (
        (
            "biweekly",
            r"\bevery\s+(?:two|2|other)\s+weeks?\b|\bfortnightly\b|\bbi-?weekly\b|"
            r"(?<!in )\b(?:a|per|every|each)\s+fortnight\b",
        ),
        ("weekly", r"\bweekly\b|(?<!in )(?<!within )\ba\s+week\b|\b(?:per|every|each)\s+week\b|/\s?w(?:ee)?k\b"),
        (
            "monthly",
            r"\bmonthly\b|(?<!in )(?<!within )\ba\s+month\b|\b(?:per|every|each)\s+month\b|"
            r"/\s?mo(?:nth)?\b|\bpcm\b",
        ),
    ),
}
FREQUENCY_RULES = {
    language: [(frequency, _compile(pattern)) for frequency, pattern in patterns]
    for language, patterns in _FREQUENCY_PATTERNS.items()
}


def find_frequencies(text: str, languages: Sequence[str]) -> list[Found[str]]:
    candidates = [
        Found(frequency, m.start(), m.end())
        for language in languages
        for frequency, pattern in FREQUENCY_RULES[language]
        for m in pattern.finditer(text)
    ]
    return _select_non_overlapping(candidates)


def parse_frequency(text: str, language: str) -> str | None:
    """ "weekly", "biweekly" or "monthly" from "par mois", "every two weeks", "fortnightly"..."""
    found = find_frequencies(text, languages_for(language))
    return found[0].value if found else None


# ---------------------------------------------------------------------------------------------------------
# Past dates (a payment the debtor says was made)
# ---------------------------------------------------------------------------------------------------------

_PAST_DAY_MONTH = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?\b")


def parse_past_date(text: str, language: str, today: datetime.date) -> datetime.date | None:
    """A date on or before today: "le 2 novembre", "02/11", "hier", "last Friday", "la semaine dernière"."""
    numeric = _PAST_DAY_MONTH.search(text)
    if numeric:
        day, month, year = int(numeric.group(1)), int(numeric.group(2)), numeric.group(3)
        year_value = (int(year) + 2000 if len(year) == 2 else int(year)) if year else today.year
        try:
            found = datetime.date(year_value, month, day)
        except ValueError:
            return None
        if found > today and not year:  # "02/12" said in November means last December
            found = found.replace(year=found.year - 1)
        return found if found <= today else None
    base = datetime.datetime.combine(today, datetime.time(12))
    for code in languages_for(language):
        parsed = dateparser.parse(
            text,
            languages=[code],
            settings={"PREFER_DATES_FROM": "past", "RELATIVE_BASE": base, "DATE_ORDER": "DMY", "STRICT_PARSING": False},
        )
        if parsed is not None and parsed.date() <= today:
            return parsed.date()
    found_dates = find_dates(text, languages_for(language), today - datetime.timedelta(days=366))
    past = [f.value for f in found_dates if f.value <= today]
    return past[0] if past else None


# ---------------------------------------------------------------------------------------------------------
# Budget answers (how much comes in or goes out, and how often)
# ---------------------------------------------------------------------------------------------------------

_YEARLY_PATTERNS = {
    "fr": r"\bpar\s+an(?:n[ée]e)?\b|\bchaque\s+ann[ée]e\b|\bl['’]an\b|\bannuel(?:le)?s?\b|\bannuellement\b|/\s?an\b",
    "en": r"(?<!in )(?<!within )\ba\s+year\b|\b(?:per|every|each)\s+(?:year|annum)\b|\byearly\b|\bannual(?:ly)?\b|"
    r"/\s?y(?:ea)?r\b|\bp\.?a\.?(?!\w)",
}
PERIOD_RULES = {
    language: [*FREQUENCY_RULES[language], ("yearly", _compile(pattern))] for language, pattern in _YEARLY_PATTERNS.items()
}


def find_periods(text: str, languages: Sequence[str]) -> list[Found[str]]:
    """How often an amount recurs: the frequencies of a plan, and "a year" (a salary, a tax)."""
    candidates = [
        Found(period, m.start(), m.end())
        for language in languages
        for period, pattern in PERIOD_RULES[language]
        for m in pattern.finditer(text)
    ]
    return _select_non_overlapping(candidates)


def parse_period(text: str, language: str) -> str | None:
    """ "weekly", "biweekly", "monthly" or "yearly", as the text says it; None when it does not say."""
    found = find_periods(text, languages_for(language))
    return found[0].value if found else None


@dataclass(frozen=True)
class BudgetAnswer:
    """A debtor's answer to "how much…?": an amount and how often (None: not said), nothing at all (0), or the
    wish not to answer (`skip`)."""

    kind: str  # amount | nothing | skip
    money: Money | None = None
    period: str | None = None


# Not answering: said plainly, in a few words, never read as an amount of 0.
_SKIP_PATTERNS = {
    "fr": (
        r"^\s*(?:je\s+)?pass(?:e|er|ons)\b|\bje\s+(?:pr[ée]f[èe]re|pr[ée]f[ée]rerais|veux|voudrais|souhaite)\s+(?:pas|ne\s+pas|plut[ôo]t\s+ne\s+pas)\s+"
        r"(?:r[ée]pondre|(?:le\s+)?dire|en\s+parler|donner)|\bpas\s+envie\s+d['’]en\s+parler\b|\bpas\s+envie\s+de\s+r[ée]pondre\b|"
        r"\bsans\s+r[ée]ponse\b|\b(?:on\s+)?arr[êe]te(?:r|z|ons)?\s+(?:l[àa]|les\s+questions)\b|\blaisse(?:z)?\s+tomber\b|"
        r"\bje\s+ne\s+(?:veux|souhaite)\s+pas\s+(?:r[ée]pondre|le\s+dire|en\s+parler)\b|\bc['’]est\s+personnel\b"
    ),
    "en": (
        r"^\s*(?:skip|pass)\b|\b(?:i['’]?d|i\s+would)\s+rather\s+not\b|\b(?:i['’]?d\s+)?prefer\s+not\s+to\b|\bno\s+comment\b|"
        r"\b(?:let['’]?s\s+)?stop\s+(?:here|there|the\s+questions)\b|\bnever\s*mind\b|\bnone\s+of\s+your\s+business\b|"
        r"\bi\s+(?:don['’]?t|do\s+not)\s+want\s+to\s+(?:answer|say|share|go\s+through)\b|\bthat['’]?s\s+private\b|\bskip\s+(?:it|this|that)\b"
    ),
}
SKIP_RULES = {language: _compile(pattern) for language, pattern in _SKIP_PATTERNS.items()}
# Nothing comes in or goes out for this: 0. A bare "no" is not among them: it may as well refuse the question.
_NOTHING_PATTERNS = {
    "fr": (
        r"\brien\b|\baucune?\b|\bn[ée]ant\b|\bz[ée]ro\b|\bnul(?:le)?\b|\bpas\s+d['’e]\b|\bje\s+n['’]ai\s+pas\b|"
        r"\bje\s+n['’]en\s+ai\s+pas\b|\bje\s+ne\s+(?:paie|paye)\s+(?:pas|rien)\b|\bsans\b"
    ),
    "en": (
        r"\bnothing\b|\bnone\b|\bnil\b|\bzero\b|\bn/?a\b|\bnot\s+applicable\b|\bno\s+\w+|\bi\s+(?:don['’]?t|do\s+not)\s+"
        r"(?:have|pay|get|spend)\b|\bwithout\b"
    ),
}
NOTHING_RULES = {language: _compile(pattern) for language, pattern in _NOTHING_PATTERNS.items()}


def parse_budget_answer(text: str, language: str, default_currency: str = "EUR") -> BudgetAnswer | None:
    """What an answer to "how much do you spend on…?" says: "1 200 par mois", "£300 a week", "about 80 quid"
    (an amount and its period, None when not said), "rien", "none", "0" (nothing), "je préfère ne pas
    répondre", "skip" (not answering). None when it says none of these."""
    languages = languages_for(language)
    if any(SKIP_RULES[code].search(text) for code in languages):
        return BudgetAnswer("skip")
    periods = find_periods(text, languages)
    # The period said, blanked, leaves the bare number an amount ("300 monthly", "12 000 annually").
    unperiodic = "".join(" " if any(p.start <= i < p.end for p in periods) else c for i, c in enumerate(text))
    # No postcode is asked here: "15000" a year is an amount, not a town.
    amounts = find_amounts(unperiodic, languages, default_currency) or _select_non_overlapping(
        _bare_amounts(unperiodic, languages, default_currency, find_references(unperiodic))
    )
    if amounts:
        money = amounts[0].value
        if money.minor == 0:
            return BudgetAnswer("nothing", Money(0, money.currency))
        return BudgetAnswer("amount", money, periods[0].value if periods else None)
    if any(NOTHING_RULES[code].search(text) for code in languages):
        return BudgetAnswer("nothing", Money(0, default_currency))
    return None
