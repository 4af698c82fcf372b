"""Reasons and preferences from debtors' words, both languages."""

from __future__ import annotations

import pytest

from bot import keywords


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("j'ai perdu mon emploi en septembre", "job_loss"),
        ("jsuis au chomage depuis 2 mois", "job_loss"),
        ("I got laid off last month", "job_loss"),
        ("je suis à l'hôpital depuis trois semaines", "illness"),
        ("I've been off work sick", "illness"),
        ("mon mari m'a quittée et je paie tout seule", "separation"),
        ("going through a divorce right now", "separation"),
        ("mon père est décédé, j'ai payé les obsèques", "bereavement"),
        ("my mum passed away in May", "bereavement"),
        ("on m'a mise à temps partiel", "reduced_income"),
        ("my hours got cut at work", "reduced_income"),
        ("je ne peux pas payer", None),
    ],
)
def test_hardship_reason(text, reason):
    found = keywords.hardship_reason(text)
    assert (found.value if found else None) == reason
    if found:
        assert text[found.start : found.end]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("ce n'est pas ma dette", "not_mine"),
        ("this is not my debt", "not_mine"),
        ("le montant est faux", "wrong_amount"),
        ("you overcharged me", "wrong_amount"),
        ("j'ai déjà payé cette facture", "already_paid"),
        ("I already paid this in March", "already_paid"),
        ("je n'ai jamais reçu la commande", "product_or_service"),
        ("the parcel never arrived", "product_or_service"),
        ("c'est une fraude, je n'ai jamais signé", "fraud"),
        ("this is identity theft", "fraud"),
        ("je conteste", None),
    ],
)
def test_dispute_reason(text, reason):
    found = keywords.dispute_reason(text)
    assert (found.value if found else None) == reason


@pytest.mark.parametrize(
    ("text", "channel", "window"),
    [
        ("contactez-moi par mail le soir svp", "email", "evening"),
        ("plutôt par SMS, en journée", "sms", "daytime"),
        ("email me instead, only in the evenings", "email", "evening"),
        ("WhatsApp on weekends please", "whatsapp", "weekend"),
        ("pas pendant mes heures de travail", None, None),
    ],
)
def test_contact_preferences(text, channel, window):
    assert keywords.contact_channel(text) == channel
    assert keywords.time_window(text) == window


@pytest.mark.parametrize(
    ("text", "means"),
    [
        ("j'ai fait un virement", "transfer"),
        ("paid by card", "card"),
        ("par chèque", "cheque"),
        ("le prélèvement est passé", "direct_debit"),
        ("I paid", None),
    ],
)
def test_payment_means(text, means):
    assert keywords.payment_means(text) == means


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("can we speak French?", "fr"),
        ("en anglais svp", "en"),
        ("parlez-vous français", "fr"),
        ("English please", "en"),
        ("autre langue", None),
        ("do you speak Polish?", "other"),
        ("en espagnol svp", "other"),
        ("in English, not Spanish", "en"),
    ],
)
def test_requested_language(text, language):
    assert keywords.requested_language(text) == language
