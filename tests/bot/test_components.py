"""DebtEntityExtractor adds normalised entities to Rasa messages."""

import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message

from bot.components import DebtEntityExtractor
from bot.parsing import parse_date


@pytest.fixture
def extractor(tmp_path: Path) -> DebtEntityExtractor:
    return DebtEntityExtractor.create(
        DebtEntityExtractor.get_default_config(),
        LocalModelStorage(tmp_path),
        Resource("debt_entity_extractor"),
        ExecutionContext(GraphSchema({}), "test-model"),
    )


@pytest.fixture
def today() -> datetime.date:
    return datetime.datetime.now(ZoneInfo("Europe/Paris")).date()


def entities_of(extractor: DebtEntityExtractor, text: str) -> list[dict[str, Any]]:
    message = Message(data={"text": text})
    extractor.process([message])
    return message.get("entities")


def values(entities: list[dict[str, Any]]) -> dict[str, str]:
    return {entity["entity"]: entity["value"] for entity in entities}


def test_french_payment_proposal(extractor: DebtEntityExtractor, today: datetime.date) -> None:
    text = "je peux payer 30 euros par mois à partir du 15"
    entities = entities_of(extractor, text)
    assert values(entities) == {
        "amount": "3000 EUR",
        "frequency": "monthly",
        "date": parse_date("le 15", "fr", today).isoformat(),
    }
    spans = {entity["entity"]: text[entity["start"] : entity["end"]] for entity in entities}
    assert spans == {"amount": "30 euros", "frequency": "par mois", "date": "du 15"}
    for entity in entities:
        assert entity["extractor"] == "DebtEntityExtractor"
        assert entity["confidence_entity"] == 1.0


def test_english_payment_proposal(extractor: DebtEntityExtractor, today: datetime.date) -> None:
    entities = entities_of(extractor, "I can pay fifty quid every two weeks starting tomorrow")
    assert values(entities) == {
        "amount": "5000 GBP",
        "frequency": "biweekly",
        "date": (today + datetime.timedelta(days=1)).isoformat(),
    }


def test_identity_details(extractor: DebtEntityExtractor) -> None:
    entities = entities_of(extractor, "ma référence est cr-10001, je suis né le 12/03/1985 et j'habite 75011 Paris")
    assert values(entities) == {"reference": "CR-10001", "date_of_birth": "1985-03-12", "postcode": "75011"}


def test_date_of_birth_is_not_also_a_date(extractor: DebtEntityExtractor) -> None:
    entities = entities_of(extractor, "born 4 May 1990")
    assert [entity["entity"] for entity in entities] == ["date_of_birth"]
    assert entities[0]["value"] == "1990-05-04"


def test_recent_past_date_stays_a_date(extractor: DebtEntityExtractor, today: datetime.date) -> None:
    last_week = today - datetime.timedelta(days=7)
    entities = entities_of(extractor, f"j'ai déjà payé le {last_week:%d/%m/%Y}")
    assert values(entities) == {"date": last_week.isoformat(), "dispute_reason": "already_paid"}


def test_uk_postcode_and_reference(extractor: DebtEntityExtractor) -> None:
    entities = entities_of(extractor, "Account AB-4321, postcode SW1A 1AA")
    assert values(entities) == {"reference": "AB-4321", "postcode": "SW1A1AA"}


def test_reference_digits_are_not_an_amount(extractor: DebtEntityExtractor) -> None:
    assert values(entities_of(extractor, "CR-10001")) == {"reference": "CR-10001"}


def test_bare_number_is_an_amount_in_the_default_currency(extractor: DebtEntityExtractor) -> None:
    assert values(entities_of(extractor, "je peux mettre 100")) == {"amount": "10000 EUR"}


def test_config_sets_default_currency(tmp_path: Path) -> None:
    extractor = DebtEntityExtractor.create(
        {"default_currency": "GBP", "timezone": "Europe/London"},
        LocalModelStorage(tmp_path),
        Resource("debt_entity_extractor"),
        ExecutionContext(GraphSchema({}), "test-model"),
    )
    assert values(entities_of(extractor, "I can pay 100")) == {"amount": "10000 GBP"}


def test_keeps_entities_from_earlier_extractors(extractor: DebtEntityExtractor) -> None:
    earlier = {"entity": "hardship_reason", "value": "job_loss", "start": 0, "end": 5, "extractor": "DIETClassifier"}
    message = Message(data={"text": "chômage, je peux payer 20 €", "entities": [earlier]})
    extractor.process([message])
    assert message.get("entities")[0] == earlier
    added = {e["entity"]: e["value"] for e in message.get("entities")[1:]}
    assert added == {"amount": "2000 EUR", "hardship_reason": "job_loss"}


def test_reasons_are_extracted_with_their_span(extractor: DebtEntityExtractor) -> None:
    text = "I can't pay, I was laid off and the amount is wrong anyway"
    entities = {e["entity"]: e for e in entities_of(extractor, text)}
    assert entities["hardship_reason"]["value"] == "job_loss"
    assert entities["dispute_reason"]["value"] == "wrong_amount"
    reason = entities["hardship_reason"]
    assert text[reason["start"] : reason["end"]] == "laid off"


def test_message_without_entities_gets_an_empty_list(extractor: DebtEntityExtractor) -> None:
    assert entities_of(extractor, "bonjour") == []


def test_processes_every_message(extractor: DebtEntityExtractor) -> None:
    messages = [Message(data={"text": "30 €"}), Message(data={"text": "£12"})]
    extractor.process(messages)
    assert [m.get("entities")[0]["value"] for m in messages] == ["3000 EUR", "1200 GBP"]
