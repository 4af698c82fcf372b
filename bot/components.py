"""Rasa NLU graph component that adds the debt-collection entities (amount, date, frequency, reference,
postcode, date_of_birth from `bot.parsing`; hardship_reason, dispute_reason from `bot.keywords`), with
normalised values the actions can rely on."""

from __future__ import annotations

import datetime
from typing import Any, Dict, List, Text
from zoneinfo import ZoneInfo

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import ENTITY_ATTRIBUTE_CONFIDENCE_TYPE
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot import keywords, parsing

# The component cannot tell which language a message is in, and French and English rules rarely
# disagree, so it applies both.
LANGUAGES = parsing.SUPPORTED_LANGUAGES


def format_amount(money: parsing.Money) -> str:
    """Entity value for an amount: integer minor units and currency, e.g. "3000 EUR"."""
    return f"{money.minor} {money.currency}"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class DebtEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Extracts amounts, dates, frequencies, references, postcodes and dates of birth with rules."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # Relative dates ("demain", "the 15th") resolve against today's date in this timezone.
            "timezone": "Europe/Paris",
            # Currency for bare numbers ("je peux payer 100").
            "default_currency": "EUR",
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._config = {**self.get_default_config(), **config}
        self._timezone = ZoneInfo(self._config["timezone"])
        self._default_currency = str(self._config["default_currency"]).upper()

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> DebtEntityExtractor:
        return cls(config)

    def today(self) -> datetime.date:
        return datetime.datetime.now(self._timezone).date()

    def process(self, messages: List[Message]) -> List[Message]:
        """Appends the entities found in each message's text to its `entities`."""
        today = self.today()
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            entities = self.add_extractor_name(self.extract_entities(text, today))
            message.set(ENTITIES, message.get(ENTITIES, []) + entities, add_to_output=True)
        return messages

    def extract_entities(self, text: str, today: datetime.date) -> List[Dict[Text, Any]]:
        references = parsing.find_references(text)
        amounts = parsing.find_amounts(text, LANGUAGES, self._default_currency, today)
        dates = parsing.find_dates(text, LANGUAGES, today)
        taken: list[parsing.Found[Any]] = [*references, *amounts, *dates]
        postcodes = parsing.find_postcodes(text, taken)
        frequencies = parsing.find_frequencies(text, LANGUAGES)

        entities = [_entity("reference", found.value, found) for found in references]
        entities += [_entity("amount", format_amount(found.value), found) for found in amounts]
        for found in dates:
            # One span is either a date of birth or a (payment) date, never both.
            kind = "date_of_birth" if parsing.is_birth_date(found, today) else "date"
            if kind == "date_of_birth" and found.value.year < 1900:
                continue
            entities.append(_entity(kind, found.value.isoformat(), found))
        entities += [_entity("frequency", found.value, found) for found in frequencies]
        entities += [_entity("postcode", found.value, found) for found in postcodes]
        for kind, find in (("hardship_reason", keywords.hardship_reason), ("dispute_reason", keywords.dispute_reason)):
            reason = find(text)
            if reason:
                entities.append(_entity(kind, reason.value, reason))
        return sorted(entities, key=lambda entity: entity[ENTITY_ATTRIBUTE_START])


def _entity(kind: str, value: str, found: parsing.Found[Any] | keywords.Match) -> Dict[Text, Any]:
    return {
        ENTITY_ATTRIBUTE_TYPE: kind,
        ENTITY_ATTRIBUTE_VALUE: value,
        ENTITY_ATTRIBUTE_START: found.start,
        ENTITY_ATTRIBUTE_END: found.end,
        ENTITY_ATTRIBUTE_CONFIDENCE_TYPE: 1.0,
    }
