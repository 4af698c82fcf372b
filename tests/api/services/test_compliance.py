"""Opt-out keywords are honoured deterministically, whatever the NLU model understands."""

from __future__ import annotations

import pytest

from api.services.compliance import bot_input, is_opt_out_keyword, is_opt_out_request


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        " Stop! ",
        "ARRET",
        "Arrêt",
        "arrêtez",
        "STOPP",
        "UNSUBSCRIBE",
        "stop sms",
        "STOPALL",
        "Quit",
        "END",
        "cancel",
    ],
)
def test_opt_out_keywords_become_the_stop_intent(text):
    assert is_opt_out_keyword(text)
    assert bot_input(text) == "/stop_contact"


@pytest.mark.parametrize(
    "text", ["stop calling me at work, email me", "je ne peux pas arrêter de penser à ça", "the end of the month", "Bonjour", ""]
)
def test_other_messages_go_to_the_bot_as_written(text):
    assert not is_opt_out_keyword(text)
    assert bot_input(text) == text


@pytest.mark.parametrize(
    "text",
    [
        # The phrases, each a case, then other ways of saying it.
        "je ne veux plus de vos messages",
        "cessez de me contacter",
        "retirez-moi de votre liste",
        "unsubscribe me",
        "don't message me again",
        "take me off your list",
        "Je ne veux plus recevoir de SMS... enfin je ne veux plus de vos sms !!",
        "Arrêtez de m'écrire s'il vous plaît",
        "ne me contactez plus",
        "désinscrivez-moi",
        "laissez-moi tranquille",
        "foutez moi la paix",
        "plus de messages svp",
        "Please stop texting me",
        "do not contact me",
        "remove me from the mailing list",
        "opt me out",
        "no more messages",
        "leave me alone!!",
        "dont text me",
    ],
)
def test_a_request_to_stop_in_any_wording_becomes_the_stop_intent(text):
    assert is_opt_out_request(text)
    assert bot_input(text) == "/stop_contact"


@pytest.mark.parametrize(
    "text",
    [
        "je veux payer en plusieurs fois",
        "Je ne veux plus attendre, je paie aujourd'hui",
        "stop, je voudrais d'abord comprendre",
        "I want to pay in full",
        "can you text me the payment link",
        "is there a list of payment methods?",
        "je ne veux plus de frais",
    ],
)
def test_look_alikes_of_a_request_to_stop_go_to_the_bot_as_written(text):
    assert not is_opt_out_request(text)
    assert bot_input(text) == text
