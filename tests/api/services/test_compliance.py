"""Opt-out keywords are honoured deterministically, whatever the NLU model understands."""

from __future__ import annotations

import pytest

from api.services.compliance import bot_input, is_opt_out_keyword


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
