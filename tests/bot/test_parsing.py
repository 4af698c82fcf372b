"""Unit tests for bot.parsing: amounts, dates, frequencies, dates of birth, postcodes, references, budget answers."""

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.parsing import (
    BudgetAnswer,
    Money,
    add_months,
    find_amounts,
    find_dates,
    find_reference,
    normalise_postcode,
    parse_amount,
    parse_budget_answer,
    parse_date,
    parse_date_of_birth,
    parse_frequency,
    parse_number_words,
    parse_period,
    parse_reference_answer,
)

TODAY = datetime.date(2026, 5, 20)  # a Wednesday
D = datetime.date


# --- amounts -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("30 euros", "fr", Money(3000, "EUR")),
        ("30€", "fr", Money(3000, "EUR")),
        ("€30", "en", Money(3000, "EUR")),
        ("30,50 €", "fr", Money(3050, "EUR")),
        ("30.50 EUR", "en", Money(3050, "EUR")),
        ("30,5 €", "fr", Money(3050, "EUR")),
        ("1 200 €", "fr", Money(120000, "EUR")),
        ("1\u202f200 €", "fr", Money(120000, "EUR")),
        ("1.200,50€", "fr", Money(120050, "EUR")),
        ("1,200.50 dollars", "en", Money(120050, "USD")),
        ("30€50", "fr", Money(3050, "EUR")),
        ("30 euros et 50 centimes", "fr", Money(3050, "EUR")),
        ("50 balles", "fr", Money(5000, "EUR")),
        ("fifty quid", "en", Money(5000, "GBP")),
        ("£45", "en", Money(4500, "GBP")),
        ("£ 45.99", "en", Money(4599, "GBP")),
        ("$40", "en", Money(4000, "USD")),
        ("40 USD", "en", Money(4000, "USD")),
        ("GBP 12", "en", Money(1200, "GBP")),
        ("80p", "en", Money(80, "GBP")),
        ("cent euros", "fr", Money(10000, "EUR")),
        ("vingt euros", "fr", Money(2000, "EUR")),
        ("deux cents euros", "fr", Money(20000, "EUR")),
        ("mille deux cents euros", "fr", Money(120000, "EUR")),
        ("quatre-vingt-dix-sept euros", "fr", Money(9700, "EUR")),
        ("soixante et onze euros", "fr", Money(7100, "EUR")),
        ("twenty pounds", "en", Money(2000, "GBP")),
        ("two hundred and fifty pounds", "en", Money(25000, "GBP")),
        ("a hundred quid", "en", Money(10000, "GBP")),
        ("twenty-five dollars", "en", Money(2500, "USD")),
        ("100", "fr", Money(10000, "EUR")),
        ("je peux payer 100", "fr", Money(10000, "EUR")),
        ("cinquante", "fr", Money(5000, "EUR")),
        ("I can pay 40 on the 15th", "en", Money(4000, "EUR")),
        ("je peux payer 30 euros par mois à partir du 15", "fr", Money(3000, "EUR")),
        ("I can pay £30 a month from the 15th", "en", Money(3000, "GBP")),
        ("mon dossier CR-10001, je peux verser 45 euros", "fr", Money(4500, "EUR")),
        ("le 15 je paie 200 €", "fr", Money(20000, "EUR")),
    ],
)
def test_parse_amount_reads_money(text: str, language: str, expected: Money) -> None:
    assert parse_amount(text, language) == expected


def test_bare_number_takes_the_default_currency() -> None:
    assert parse_amount("I can do 60", "en", default_currency="GBP") == Money(6000, "GBP")


def test_unit_amount_wins_over_other_numbers() -> None:
    assert parse_amount("en 3 fois, 150 euros la première fois", "fr") == Money(15000, "EUR")
    assert parse_amount("12 payments of 25 pounds", "en") == Money(2500, "GBP")


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("le 15", "fr"),
        ("the 15th", "en"),
        ("on the 3", "en"),
        ("15/12", "fr"),
        ("15/12/2026", "fr"),
        ("2026-12-15", "en"),
        ("CR-10001", "fr"),
        ("ma référence est cr-2045", "fr"),
        ("75011", "fr"),
        ("SW1A 1AA", "en"),
        ("en 2026", "fr"),
        ("since 2019", "en"),
        ("en 3 fois", "fr"),
        ("in 3 instalments", "en"),
        ("dans 2 semaines", "fr"),
        ("tous les 15 jours", "fr"),
        ("every 2 weeks", "en"),
        ("06 12 34 56 78", "fr"),
        ("à 15h", "fr"),
        ("j'ai un problème", "fr"),
        ("j'ai acheté un livre", "fr"),
        ("j'ai 2 enfants", "fr"),
        ("12 months", "en"),
        ("20 %", "fr"),
        ("bonjour", "fr"),
        ("", "en"),
    ],
)
def test_parse_amount_ignores_numbers_that_are_not_money(text: str, language: str) -> None:
    assert parse_amount(text, language) is None


@given(minor=st.integers(min_value=0, max_value=99_999_999))
def test_formatted_euro_amounts_parse_back_exactly(minor: int) -> None:
    units, cents = divmod(minor, 100)
    assert parse_amount(f"{units},{cents:02d} €", "fr") == Money(minor, "EUR")
    assert parse_amount(f"€{units}.{cents:02d}", "en") == Money(minor, "EUR")
    assert parse_amount(f"{units}.{cents:02d} EUR", "en") == Money(minor, "EUR")


@given(minor=st.integers(min_value=0, max_value=99_999_999))
def test_amounts_with_thousands_separators_parse_back_exactly(minor: int) -> None:
    units, cents = divmod(minor, 100)
    assert parse_amount(f"{units:,}.{cents:02d} £", "en") == Money(minor, "GBP")
    french = f"{units:,}".replace(",", " ")
    assert parse_amount(f"je dois {french},{cents:02d} euros", "fr") == Money(minor, "EUR")


@given(value=st.integers(min_value=1, max_value=9999))
def test_english_number_words_round_trip(value: int) -> None:
    assert parse_number_words(_english_words(value), "en") == value


def _english_words(value: int) -> str:
    """Spells a number the British way, to check the parser against an independent writer."""
    small = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ]
    tens = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
    parts = []
    thousands, rest = divmod(value, 1000)
    hundreds, rest = divmod(rest, 100)
    if thousands:
        parts.append(f"{small[thousands]} thousand")
    if hundreds:
        parts.append(f"{small[hundreds]} hundred")
    if rest:
        if parts:
            parts.append("and")
        parts.append(small[rest] if rest < 20 else tens[rest // 10] + (f"-{small[rest % 10]}" if rest % 10 else ""))
    return " ".join(parts)


@pytest.mark.parametrize(
    ("words", "value"),
    [
        ("vingt et un", 21),
        ("soixante-dix", 70),
        ("soixante-quinze", 75),
        ("quatre-vingts", 80),
        ("quatre-vingt-un", 81),
        ("quatre-vingt-dix-neuf", 99),
        ("cent", 100),
        ("trois cent cinquante", 350),
        ("mille", 1000),
        ("deux mille cinq cents", 2500),
        ("neuf mille neuf cent quatre-vingt-dix-neuf", 9999),
        ("septante", 70),
        ("nonante-cinq", 95),
    ],
)
def test_french_number_words(words: str, value: int) -> None:
    assert parse_number_words(words, "fr") == value


@pytest.mark.parametrize("words", ["deux trois", "vingt trente", "bonjour", "", "cent cent"])
def test_number_words_reject_what_is_not_one_number(words: str) -> None:
    assert parse_number_words(words, "fr") is None


def test_amount_span_covers_the_matched_text() -> None:
    text = "je peux payer 30,50 € demain"
    (found,) = find_amounts(text, ("fr",), today=TODAY)
    assert text[found.start : found.end] == "30,50 €"


# --- dates ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("le 15", "fr", D(2026, 6, 15)),
        ("le 20", "fr", D(2026, 5, 20)),
        ("le 25", "fr", D(2026, 5, 25)),
        ("à partir du 1er", "fr", D(2026, 6, 1)),
        ("the 15th", "en", D(2026, 6, 15)),
        ("on the 25", "en", D(2026, 5, 25)),
        ("the 31st", "en", D(2026, 5, 31)),
        ("vendredi prochain", "fr", D(2026, 5, 22)),
        ("vendredi", "fr", D(2026, 5, 22)),
        ("next Friday", "en", D(2026, 5, 22)),
        ("mercredi prochain", "fr", D(2026, 5, 27)),
        ("this Wednesday", "en", D(2026, 5, 20)),
        ("demain", "fr", D(2026, 5, 21)),
        ("tomorrow", "en", D(2026, 5, 21)),
        ("après-demain", "fr", D(2026, 5, 22)),
        ("the day after tomorrow", "en", D(2026, 5, 22)),
        ("aujourd'hui", "fr", D(2026, 5, 20)),
        ("today", "en", D(2026, 5, 20)),
        ("fin du mois", "fr", D(2026, 5, 31)),
        ("à la fin du mois prochain", "fr", D(2026, 6, 30)),
        ("end of the month", "en", D(2026, 5, 31)),
        ("début du mois prochain", "fr", D(2026, 6, 1)),
        ("start of next month", "en", D(2026, 6, 1)),
        ("beginning of next month", "en", D(2026, 6, 1)),
        ("dans 2 semaines", "fr", D(2026, 6, 3)),
        ("dans deux semaines", "fr", D(2026, 6, 3)),
        ("dans quinze jours", "fr", D(2026, 6, 3)),
        ("d'ici 10 jours", "fr", D(2026, 5, 30)),
        ("in two weeks", "en", D(2026, 6, 3)),
        ("in 3 days", "en", D(2026, 5, 23)),
        ("in a fortnight", "en", D(2026, 6, 3)),
        ("dans 3 mois", "fr", D(2026, 8, 20)),
        ("15/12/2026", "fr", D(2026, 12, 15)),
        ("15.12.2026", "fr", D(2026, 12, 15)),
        ("15/12/26", "fr", D(2026, 12, 15)),
        ("15/12", "fr", D(2026, 12, 15)),
        ("1/5", "fr", D(2027, 5, 1)),
        ("15 décembre", "fr", D(2026, 12, 15)),
        ("le 1er juin", "fr", D(2026, 6, 1)),
        ("20 mai", "fr", D(2026, 5, 20)),
        ("3 mai", "fr", D(2027, 5, 3)),
        ("December 15th", "en", D(2026, 12, 15)),
        ("15th December", "en", D(2026, 12, 15)),
        ("the 15th of December 2027", "en", D(2027, 12, 15)),
        ("2026-12-15", "en", D(2026, 12, 15)),
        ("le mois prochain", "fr", D(2026, 6, 20)),
        ("next month", "en", D(2026, 6, 20)),
        ("la semaine prochaine", "fr", D(2026, 5, 27)),
        ("le 15 du mois prochain", "fr", D(2026, 6, 15)),
        ("the 15th of next month", "en", D(2026, 6, 15)),
        ("fin juin", "fr", D(2026, 6, 30)),
        ("mid-July", "en", D(2026, 7, 15)),
        ("je peux payer 30 euros par mois à partir du 15", "fr", D(2026, 6, 15)),
        ("I'll pay £50 next Friday", "en", D(2026, 5, 22)),
        ("12/15/2026", "en", D(2026, 12, 15)),  # only month-first makes sense
    ],
)
def test_parse_date_resolves_against_today(text: str, language: str, expected: datetime.date) -> None:
    assert parse_date(text, language, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("30 euros", "fr"),
        ("12.50 €", "fr"),
        ("£15", "en"),
        ("CR-10001", "fr"),
        ("ref CR-12-05", "en"),
        ("after payday", "en"),
        ("quand je pourrai", "fr"),
        ("pay the 30", "en"),
        ("in 3 instalments", "en"),
        ("every month", "en"),
        ("12/03/1985", "fr"),  # a date of birth, not a payment date
        ("31/02/2027", "fr"),
        ("", "fr"),
    ],
)
def test_parse_date_finds_nothing_where_there_is_no_date(text: str, language: str) -> None:
    assert parse_date(text, language, TODAY) is None


def test_end_of_month_on_its_last_day_is_next_months_end() -> None:
    assert parse_date("fin du mois", "fr", D(2026, 5, 31)) == D(2026, 6, 30)
    assert parse_date("end of the month", "en", D(2026, 2, 28)) == D(2026, 3, 31)


def test_day_of_month_skips_months_too_short() -> None:
    assert parse_date("le 31", "fr", D(2026, 6, 2)) == D(2026, 7, 31)


def test_next_month_clamps_to_a_shorter_month() -> None:
    assert parse_date("next month", "en", D(2026, 1, 31)) == D(2026, 2, 28)
    assert parse_date("le mois prochain", "fr", D(2024, 1, 31)) == D(2024, 2, 29)


@given(
    today=st.dates(min_value=D(2000, 1, 1), max_value=D(2090, 12, 31)),
    day=st.integers(min_value=1, max_value=31),
)
def test_day_of_month_is_never_in_the_past(today: datetime.date, day: int) -> None:
    resolved = parse_date(f"le {day}", "fr", today)
    assert resolved is not None and resolved >= today and resolved.day == day
    assert (resolved - today).days < 93


@given(today=st.dates(min_value=D(2000, 1, 1), max_value=D(2090, 12, 31)), months=st.integers(0, 120))
def test_add_months_stays_within_the_target_month(today: datetime.date, months: int) -> None:
    later = add_months(today, months)
    assert (later.year * 12 + later.month) - (today.year * 12 + today.month) == months
    assert later.day <= today.day


@given(today=st.dates(min_value=D(2000, 1, 1), max_value=D(2090, 12, 31)))
def test_future_looking_phrases_never_resolve_to_the_past(today: datetime.date) -> None:
    for text, language in [
        ("vendredi prochain", "fr"),
        ("next Monday", "en"),
        ("fin du mois", "fr"),
        ("end of the month", "en"),
        ("début du mois prochain", "fr"),
        ("le mois prochain", "fr"),
        ("15/12", "fr"),
        ("the 1st", "en"),
        ("29 février", "fr"),
    ]:
        resolved = parse_date(text, language, today)
        assert resolved is not None and resolved >= today, text


def test_date_span_covers_the_matched_text() -> None:
    text = "je paierai vendredi prochain, promis"
    (found,) = find_dates(text, ("fr",), TODAY)
    assert text[found.start : found.end] == "vendredi prochain"


# --- dates of birth ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("12/03/1985", "fr", D(1985, 3, 12)),
        ("12.03.1985", "fr", D(1985, 3, 12)),
        ("né le 12/03/85", "fr", D(1985, 3, 12)),
        ("12 mars 1985", "fr", D(1985, 3, 12)),
        ("je suis née le 1er avril 1970", "fr", D(1970, 4, 1)),
        ("born 4 May 1990", "en", D(1990, 5, 4)),
        ("my date of birth is May 4th, 1990", "en", D(1990, 5, 4)),
        ("1985-03-12", "en", D(1985, 3, 12)),
        ("04/05/1990", "en", D(1990, 5, 4)),  # day first in the UK too
    ],
)
def test_parse_date_of_birth(text: str, language: str, expected: datetime.date) -> None:
    assert parse_date_of_birth(text, language, today=TODAY) == expected


@pytest.mark.parametrize(
    ("text", "language"),
    [("12 mars", "fr"), ("12/03/2030", "fr"), ("1/1/1850", "fr"), ("30 euros", "fr"), ("tomorrow", "en"), ("", "en")],
)
def test_parse_date_of_birth_rejects_missing_future_or_ancient_dates(text: str, language: str) -> None:
    assert parse_date_of_birth(text, language, today=TODAY) is None


def test_parse_date_of_birth_defaults_to_the_real_today() -> None:
    assert parse_date_of_birth("12/03/1985", "fr") == D(1985, 3, 12)


# --- frequencies ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("30 euros par mois", "fr", "monthly"),
        ("un paiement mensuel", "fr", "monthly"),
        ("chaque mois", "fr", "monthly"),
        ("tous les mois", "fr", "monthly"),
        ("en 3 mensualités", "fr", "monthly"),
        ("monthly", "en", "monthly"),
        ("£50 a month", "en", "monthly"),
        ("per month", "en", "monthly"),
        ("every month", "en", "monthly"),
        ("par semaine", "fr", "weekly"),
        ("toutes les semaines", "fr", "weekly"),
        ("hebdomadaire", "fr", "weekly"),
        ("weekly", "en", "weekly"),
        ("20 quid a week", "en", "weekly"),
        ("tous les 15 jours", "fr", "biweekly"),
        ("tous les quinze jours", "fr", "biweekly"),
        ("toutes les deux semaines", "fr", "biweekly"),
        ("toutes les 2 semaines", "fr", "biweekly"),
        ("every two weeks", "en", "biweekly"),
        ("every other week", "en", "biweekly"),
        ("fortnightly", "en", "biweekly"),
        ("biweekly", "en", "biweekly"),
        ("bi-weekly", "en", "biweekly"),
    ],
)
def test_parse_frequency(text: str, language: str, expected: str) -> None:
    assert parse_frequency(text, language) == expected


@pytest.mark.parametrize(
    ("text", "language"),
    [("in a month", "en"), ("in a week", "en"), ("dans un mois", "fr"), ("le mois prochain", "fr"), ("30 euros", "fr")],
)
def test_parse_frequency_ignores_one_off_dates(text: str, language: str) -> None:
    assert parse_frequency(text, language) is None


# --- postcodes and references --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("75011", "75011"),
        ("mon code postal est 69003", "69003"),
        ("j'habite au 12 rue Oberkampf, 75011 Paris", "75011"),
        ("SW1A 1AA", "SW1A1AA"),
        ("my postcode is sw1a 1aa", "SW1A1AA"),
        ("M1 1AE", "M11AE"),
        ("EC1A1BB", "EC1A1BB"),
    ],
)
def test_normalise_postcode(text: str, expected: str) -> None:
    assert normalise_postcode(text) == expected


@pytest.mark.parametrize("text", ["CR-10001", "10000 €", "0612345678", "2026", "bonjour", "123", ""])
def test_normalise_postcode_ignores_other_numbers(text: str) -> None:
    assert normalise_postcode(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CR-10001", "CR-10001"),
        ("ma référence est cr-10001.", "CR-10001"),
        ("ref: abcd-1234567890", "ABCD-1234567890"),
        ("dossier DC-123 svp", "DC-123"),
    ],
)
def test_find_reference(text: str, expected: str) -> None:
    assert find_reference(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The formats creditors print (issue: each creditor's reference must be understood).
        ("HX482913", "HX482913"),
        ("ma référence c'est hx482913 merci", "HX482913"),
        ("dossier 2024/000123", "2024/000123"),
        ("my file is FAC-2023-0045, born 04/05/1990", "FAC-2023-0045"),
        ("ref C-10001", "C-10001"),
        ("réf ABCDE-10001.", "ABCDE-10001"),
    ],
)
def test_find_reference_in_each_creditors_format(text: str, expected: str) -> None:
    assert find_reference(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "CR-12",
        "30 euros",
        "1200eur",
        "15/12/2026",
        "je paierai le 12/05",
        "0612345678",
        "06-12-34-56-78",
        "14h30",
        "3x100",
        "EC1A1BB",
        "SW1A 1AA",
        "10000.50",
        "john.doe123@example.com",
        "le 2ème mois",
        "",
    ],
)
def test_find_reference_leaves_amounts_dates_phones_and_postcodes(text: str) -> None:
    assert find_reference(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("123456789", "123456789"), ("  hx482913 ", "HX482913"), ("2024/000123.", "2024/000123"), ("CR-10001", "CR-10001")],
)
def test_a_reply_to_the_reference_question_may_be_the_reference_alone(text: str, expected: str) -> None:
    assert parse_reference_answer(text) == expected


@pytest.mark.parametrize("text", ["bonjour", "15/12/2026", "1200eur", "14h30", "je ne sais pas", "12"])
def test_a_reply_that_is_not_a_reference(text: str) -> None:
    assert parse_reference_answer(text) is None


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("le 02/11/2026", "fr", datetime.date(2026, 11, 2)),
        ("le 02/11", "fr", datetime.date(2026, 11, 2)),
        ("02/12", "fr", datetime.date(2025, 12, 2)),
        ("hier", "fr", datetime.date(2026, 11, 22)),
        ("yesterday", "en", datetime.date(2026, 11, 22)),
        ("le 2 novembre", "fr", datetime.date(2026, 11, 2)),
        ("on 2 November", "en", datetime.date(2026, 11, 2)),
        ("31/02/2026", "fr", None),
        ("le 25/12/2026", "fr", None),
        ("je ne sais plus", "fr", None),
    ],
)
def test_parse_past_date(text, language, expected):
    from bot.parsing import parse_past_date

    assert parse_past_date(text, language, datetime.date(2026, 11, 23)) == expected


# --- budget answers: an amount and how often, nothing, or not answering ------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("1 200 par mois", "fr", "monthly"),
        ("300 euros par semaine", "fr", "weekly"),
        ("tous les 15 jours", "fr", "biweekly"),
        ("18 000 € par an", "fr", "yearly"),
        ("600 € par année pour l'assurance", "fr", "yearly"),
        ("la taxe foncière, 900 € annuels", "fr", "yearly"),
        ("1 500 €/an", "fr", "yearly"),
        ("£300 a week", "en", "weekly"),
        ("£50 fortnightly", "en", "biweekly"),
        ("£18,000 a year", "en", "yearly"),
        ("£400 per annum", "en", "yearly"),
        ("£1200 annually", "en", "yearly"),
        ("£900 yearly", "en", "yearly"),
        ("about 80 quid", "en", None),
        ("in a year", "en", None),
    ],
)
def test_parse_period_reads_a_year_as_well_as_the_plan_frequencies(text: str, language: str, expected: str | None) -> None:
    assert parse_period(text, language) == expected


@pytest.mark.parametrize(
    ("text", "language", "currency", "minor", "period"),
    [
        ("1 200 par mois", "fr", "EUR", 120000, "monthly"),
        ("environ 1 500 € par mois", "fr", "EUR", 150000, "monthly"),
        ("300 euros par semaine", "fr", "EUR", 30000, "weekly"),
        ("environ 80 balles par semaine", "fr", "EUR", 8000, "weekly"),
        ("18 000 € par an", "fr", "EUR", 1800000, "yearly"),
        ("15000 par an", "fr", "EUR", 1500000, "yearly"),  # five digits: an amount here, not a postcode
        ("je touche 1 350 € par mois", "fr", "EUR", 135000, "monthly"),
        ("450", "fr", "EUR", 45000, None),
        ("£300 a week", "en", "GBP", 30000, "weekly"),
        ("about 80 quid", "en", "GBP", 8000, None),
        ("1,200 a month", "en", "GBP", 120000, "monthly"),
        ("£18,000 a year", "en", "GBP", 1800000, "yearly"),
        ("300 monthly", "en", "GBP", 30000, "monthly"),  # the period word after a bare number
        ("12000 annually", "en", "GBP", 1200000, "yearly"),
        ("£1,250.50 per month", "en", "GBP", 125050, "monthly"),
        ("I earn about 1,600 a month after tax", "en", "GBP", 160000, "monthly"),
    ],
)
def test_parse_budget_answer_reads_an_amount_with_its_period(
    text: str, language: str, currency: str, minor: int, period: str | None
) -> None:
    answer = parse_budget_answer(text, language, currency)
    assert answer == BudgetAnswer("amount", Money(minor, currency), period)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("rien", "fr"),
        ("0", "fr"),
        ("zéro", "fr"),
        ("aucun", "fr"),
        ("néant", "fr"),
        ("pas de loyer, je suis hébergée", "fr"),
        ("je n'ai pas de voiture", "fr"),
        ("none", "en"),
        ("nothing", "en"),
        ("0", "en"),
        ("zero", "en"),
        ("n/a", "en"),
        ("no rent, I live with my parents", "en"),
        ("I don't have any other debts", "en"),
    ],
)
def test_parse_budget_answer_reads_nothing_as_zero(text: str, language: str) -> None:
    answer = parse_budget_answer(text, language, "EUR")
    assert answer is not None and answer.kind == "nothing" and answer.money == Money(0, "EUR")


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("je préfère ne pas répondre", "fr"),
        ("passer", "fr"),
        ("je passe", "fr"),
        ("je ne veux pas répondre", "fr"),
        ("laissez tomber", "fr"),
        ("on arrête là", "fr"),
        ("skip", "en"),
        ("pass", "en"),
        ("I'd rather not say", "en"),
        ("I would rather not answer that", "en"),
        ("prefer not to say", "en"),
        ("let's stop here", "en"),
        ("I don't want to answer", "en"),
    ],
)
def test_parse_budget_answer_hears_a_wish_not_to_answer(text: str, language: str) -> None:
    assert parse_budget_answer(text, language, "EUR") == BudgetAnswer("skip")


@pytest.mark.parametrize(
    ("text", "language"),
    [("non", "fr"), ("no", "en"), ("je sais pas", "fr"), ("dunno", "en"), ("bonjour", "fr"), ("2 enfants", "fr")],
)
def test_parse_budget_answer_does_not_guess(text: str, language: str) -> None:
    # A bare "no" may refuse the question as well as mean none: the question is asked again.
    assert parse_budget_answer(text, language, "EUR") is None


@given(st.integers(min_value=1, max_value=99_999), st.sampled_from(["par mois", "par semaine", "par an"]))
def test_parse_budget_answer_reads_any_whole_amount_in_euros_with_its_period(amount: int, said: str) -> None:
    answer = parse_budget_answer(f"{amount} € {said}", "fr", "EUR")
    period = {"par mois": "monthly", "par semaine": "weekly", "par an": "yearly"}[said]
    assert answer == BudgetAnswer("amount", Money(amount * 100, "EUR"), period)
