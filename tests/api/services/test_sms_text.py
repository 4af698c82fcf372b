"""SMS text: segments counted as carriers count them, French kept in cheap GSM-7, buttons answered by number, links shortened."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.services.sms_text import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    LINK_RE,
    SegmentInfo,
    button_choice,
    encoding,
    render,
    replace_links,
    segment_info,
    to_gsm7,
)

YES_NO = [{"title": "Oui", "payload": "/affirm"}, {"title": "Non", "payload": "/deny"}]
THREE = [
    {"title": "Payer en totalité", "payload": "/pay_in_full"},
    {"title": "Payer en plusieurs fois", "payload": "/request_instalments"},
    {"title": "Obtenir un délai", "payload": "/request_deferral"},
]
GSM7_ALL = sorted(GSM7_BASIC | GSM7_EXTENSION)


# --- character sets --------------------------------------------------------------------------------------------


def test_the_gsm7_tables_have_the_sizes_of_gsm_03_38():
    # 128 positions, minus the escape that leads into the extension table.
    assert len(GSM7_BASIC) == 127
    assert set("\f^{}\\[~]|€") == GSM7_EXTENSION
    assert not GSM7_BASIC & GSM7_EXTENSION
    assert "\x1b" not in GSM7_BASIC


@pytest.mark.parametrize("char", list("éèàùìòÉÇÄÖÜäöüñÑßøØåÅÆæ@£$¥¤§¿¡_ΔΦΓΛΩΠΨΣΘΞ\n\r"))
def test_letters_and_signs_of_the_basic_set_are_gsm7(char):
    assert char in GSM7_BASIC
    assert encoding(char) == "GSM-7"


@pytest.mark.parametrize("char", list("êâîôûëïçœÀÈÊÎÔÛÙ’‘“”«»–—…\u00a0\u202f•°`") + ["😀"])
def test_characters_outside_gsm7_need_ucs2(char):
    assert encoding(f"Bonjour {char}") == "UCS-2"


def test_extension_characters_are_gsm7():
    assert encoding("Prix : 50 € [réf] {x} ~ ^ | \\") == "GSM-7"


# --- segments, GSM-7 -------------------------------------------------------------------------------------------


def test_empty_text_is_one_segment():
    assert segment_info("") == SegmentInfo("GSM-7", 0, 1, 160)


@pytest.mark.parametrize(
    ("length", "segments"),
    [(1, 1), (160, 1), (161, 2), (153 * 2, 2), (307, 3), (153 * 3, 3), (153 * 3 + 1, 4)],
)
def test_gsm7_fits_160_alone_and_153_per_concatenated_part(length, segments):
    info = segment_info("a" * length)
    assert (info.encoding, info.units, info.segments) == ("GSM-7", length, segments)
    assert info.per_segment == (160 if segments == 1 else 153)


def test_extension_characters_count_two_septets():
    assert segment_info("€" * 80) == SegmentInfo("GSM-7", 160, 1, 160)
    assert segment_info("€" * 80 + "a").segments == 2
    assert segment_info("a" * 159 + "{").units == 161
    assert segment_info("a" * 159 + "{").segments == 2
    assert segment_info("\f").units == 2


def test_an_escaped_character_is_not_split_between_two_parts():
    # 152 septets then "€": the escape and the character would straddle parts 1 and 2, so "€" moves to part 2.
    straddling = "a" * 152 + "€" + "a" * 152
    assert segment_info(straddling).units == 306
    assert segment_info(straddling).segments == 3
    assert segment_info("a" * 151 + "€" + "a" * 153).segments == 2


# --- segments, UCS-2 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "segments"),
    [(70, 1), (71, 2), (134, 2), (135, 3), (67 * 3, 3), (67 * 3 + 1, 4)],
)
def test_ucs2_fits_70_alone_and_67_per_concatenated_part(length, segments):
    info = segment_info("ê" * length)
    assert (info.encoding, info.units, info.segments) == ("UCS-2", length, segments)
    assert info.per_segment == (70 if segments == 1 else 67)


def test_one_character_outside_gsm7_makes_the_whole_message_ucs2():
    assert segment_info("a" * 100).segments == 1
    assert segment_info("a" * 99 + "’").segments == 2


def test_an_emoji_counts_two_utf16_units():
    assert segment_info("😀").units == 2
    assert segment_info("😀" * 35) == SegmentInfo("UCS-2", 70, 1, 70)
    assert segment_info("😀" * 35 + "a").segments == 2


def test_a_surrogate_pair_is_not_split_between_two_parts():
    straddling = "a" * 66 + "😀" + "a" * 66
    assert segment_info(straddling).units == 134
    assert segment_info(straddling).segments == 3
    assert segment_info("a" * 65 + "😀" + "a" * 67).segments == 2


@given(st.text(alphabet=st.sampled_from(GSM7_ALL), max_size=800))
def test_gsm7_segments_are_the_fewest_parts_that_hold_the_septets(text):
    info = segment_info(text)
    assert info.units == len(text) + sum(c in GSM7_EXTENSION for c in text)
    if info.units <= 160:
        assert info.segments == 1
    else:
        # an escape pushed to the next part costs at most one septet per part
        assert -(-info.units // 153) <= info.segments <= -(-(info.units + info.segments) // 153)


@given(st.text(min_size=1, max_size=400).filter(lambda t: encoding(t) == "UCS-2"))
def test_ucs2_units_are_utf16_code_units(text):
    info = segment_info(text)
    assert info.units == len(text.encode("utf-16-le")) // 2
    assert info.segments >= -(-info.units // (70 if info.units <= 70 else 67))


# --- to_gsm7 ---------------------------------------------------------------------------------------------------


def test_gsm7_accents_are_kept():
    kept = "é è à ù ì ò É Ç Ä Ö Ü ä ö ü ñ Ñ ß ø Ø å Å Æ æ"
    assert to_gsm7(kept) == kept


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ê â î ô û ë ï ÿ ç", "e a i o u e i y c"),
        ("Ê Â Î Ô Û À È Ù Ë Ï", "E A I O U A E U E I"),
        ("cœur, Œuvre", "coeur, OEuvre"),
        ("l’été, ‘x’", "l'été, 'x'"),
        ("“yes” „ja“", '"yes" "ja"'),
        ("« oui »", '"oui"'),
        ("«\u00a0oui\u00a0»", '"oui"'),
        ("a – b — c", "a - b - c"),
        ("Attendez…", "Attendez..."),
        ("50\u00a0€ et 20\u202f€", "50 € et 20 €"),
        ("• 15 décembre : 50 €", "- 15 décembre : 50 €"),
        ("n° 12", "no 12"),
        ("ﬁn", "fin"),
        ("ＡＢＣ１２３", "ABC123"),
        ("½", "1/2"),
        ("e\u0301te\u0301", "été"),  # decomposed input keeps its GSM-7 accents
        ("soft\u00adhyphen, zero\u200bwidth", "softhyphen, zerowidth"),
        ("tab\there", "tab here"),
        ("Merci 👍", "Merci ?"),
        ("Merci ❤️", "Merci ?"),
        ("漢", "?"),
    ],
)
def test_to_gsm7_replaces_what_gsm7_lacks_by_the_closest_gsm7_text(text, expected):
    assert to_gsm7(text) == expected


@given(st.text(max_size=200))
def test_to_gsm7_always_gives_gsm7_and_leaves_gsm7_alone(text):
    converted = to_gsm7(text)
    assert encoding(converted) == "GSM-7"
    assert to_gsm7(converted) == converted


FRENCH = [
    "Bonjour, je suis l’assistant automatique de Recouvrement Amiable Rhône, qui agit pour le compte de "
    "Lumière Énergie. Cet échange a pour objet le recouvrement d’une créance.",
    "Voici ce que Lumière Énergie peut vous proposer : un délai jusqu’au 15 décembre, ou un paiement en "
    "3 fois à partir de 50,00 € par mois. Êtes-vous d’accord ? Ça vous convient-il ?",
    "Merci de me l’avoir dit, et je suis désolé que vous traversiez cela. Nous arrêtons de parler de paiement : "
    "un conseiller va reprendre votre dossier personnellement, avec attention. Si vous avez besoin de parler à "
    "quelqu’un maintenant : SOS Amitié, écoute 24 h/24 : 09 72 39 40 50.",
]


@pytest.mark.parametrize("text", FRENCH)
def test_french_becomes_gsm7_and_costs_fewer_segments(text):
    assert encoding(text) == "UCS-2"
    converted = to_gsm7(text)
    assert encoding(converted) == "GSM-7"
    assert segment_info(converted).segments < segment_info(text).segments
    assert len(converted) >= len(text)  # nothing dropped, "…" and "œ" only grow


def test_a_french_sample_keeps_its_gsm7_accents_and_loses_only_the_others():
    converted = to_gsm7("Êtes-vous d’accord ? Ça me va, à très bientôt, même à Noël.")
    assert converted == "Etes-vous d'accord ? Ça me va, à très bientot, meme à Noel."
    assert segment_info(converted) == SegmentInfo("GSM-7", 59, 1, 160)


def test_french_with_only_gsm7_accents_is_sent_as_is():
    text = (
        "Merci, votre accord est enregistré sous la référence CM-2026-0042. Nous vous rappellerons avant chaque "
        "échéance ; si votre situation change, écrivez-nous pour adapter le plan."
    )
    assert to_gsm7(text) == text
    assert segment_info(text) == SegmentInfo("GSM-7", len(text), 2, 153)


def test_an_english_sample_is_already_gsm7():
    text = "Thank you, your agreement is recorded under reference CM-2026-0042. We will remind you before each due date."
    assert to_gsm7(text) == text
    assert segment_info(text).segments == 1


# --- render ----------------------------------------------------------------------------------------------------


def test_buttons_become_numbered_lines_followed_by_the_hint():
    rendered = render("Cela vous conviendrait-il ?", YES_NO, hint="Répondez par le numéro.")
    assert rendered == "Cela vous conviendrait-il ?\n1. Oui\n2. Non\nRépondez par le numéro."


def test_no_buttons_leaves_the_text_unchanged():
    assert render("Bonjour.", [], hint="Répondez par le numéro.") == "Bonjour."
    assert render("Bonjour.", None, hint="Répondez par le numéro.") == "Bonjour."


def test_the_numbers_rendered_are_the_numbers_understood():
    rendered = render("Comment préférez-vous régler ?", THREE, hint="Reply with the number.")
    for line in rendered.splitlines()[1:-1]:
        number, title = line.split(". ", 1)
        assert button_choice(number, THREE) == next(b["payload"] for b in THREE if b["title"] == title)


# --- button_choice ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "payload"),
    [
        ("1", "/pay_in_full"),
        (" 2 ", "/request_instalments"),
        ("2.", "/request_instalments"),
        ("3)", "/request_deferral"),
        ("n°2", "/request_instalments"),
        ("N° 3", "/request_deferral"),
        ("nº1", "/pay_in_full"),
        ("no. 1", "/pay_in_full"),
        ("option 2", "/request_instalments"),
        ("Option 3", "/request_deferral"),
        ("choix 1", "/pay_in_full"),
        ("numéro 2", "/request_instalments"),
        ("#3", "/request_deferral"),
        ("01", "/pay_in_full"),
        ("2\n", "/request_instalments"),
    ],
)
def test_a_button_is_chosen_by_its_number(reply, payload):
    assert button_choice(reply, THREE) == payload


@pytest.mark.parametrize(
    "reply",
    [
        "0",
        "4",
        "10",
        "99",
        "-1",
        "",
        "   ",
        "oui",
        "je peux payer 2 fois",
        "2 fois",
        "le 2",
        "1 ou 2",
        "1,5",
        "150",
        "2 000 €",
        "option",
        "n°",
        "1.5",
        "2..",
        "12/03/1985",
        "CR-12345",
    ],
)
def test_anything_but_a_button_number_is_not_a_choice(reply):
    assert button_choice(reply, THREE) is None


def test_there_is_no_choice_without_buttons():
    assert button_choice("1", []) is None
    assert button_choice("1", None) is None


# --- links -----------------------------------------------------------------------------------------------------


def test_each_link_is_replaced_by_its_short_form():
    shortened = {
        "https://pay.example/documents/42.pdf?token=a.b-c_d": "https://s.example/1",
        "http://pay.example/help": "https://s.example/2",
    }
    text = "Votre confirmation : https://pay.example/documents/42.pdf?token=a.b-c_d. Aide (http://pay.example/help), merci !"
    assert replace_links(text, shortened.__getitem__) == (
        "Votre confirmation : https://s.example/1. Aide (https://s.example/2), merci !"
    )


@pytest.mark.parametrize(
    ("text", "link"),
    [
        ("Voir https://a.example/x?y=1&z=2", "https://a.example/x?y=1&z=2"),
        ("Voir https://a.example/x.", "https://a.example/x"),
        ("Voir https://a.example/x, puis", "https://a.example/x"),
        ("Voir https://a.example/x?", "https://a.example/x"),
        ("Voir https://a.example/x!", "https://a.example/x"),
        ("Voir https://a.example/x;", "https://a.example/x"),
        ("[le PDF](https://a.example/doc.pdf)", "https://a.example/doc.pdf"),
        ("<https://a.example/>", "https://a.example/"),
        ("HTTPS://A.EXAMPLE/X", "HTTPS://A.EXAMPLE/X"),
        ("'https://a.example/q'", "https://a.example/q"),
    ],
)
def test_a_link_stops_before_the_punctuation_around_it(text, link):
    assert [m.group(0) for m in LINK_RE.finditer(text)] == [link]


@pytest.mark.parametrize("text", ["www.example.com", "ftp://a.example/x", "mailto:dpo@example.com", "https://", "Bonjour"])
def test_text_without_http_links_is_unchanged(text):
    def shorten(url: str) -> str:
        raise AssertionError(f"{url} is not a link")

    assert replace_links(text, shorten) == text


def test_a_shortened_link_keeps_the_message_in_fewer_segments():
    url = "https://debtors.example.com/documents/8d1f0c9e.pdf?token=" + "x" * 120
    text = f"Votre confirmation écrite : {url}"
    short = replace_links(text, lambda _: "https://s.example/a1")
    assert segment_info(to_gsm7(short)).segments == 1 < segment_info(to_gsm7(text)).segments
