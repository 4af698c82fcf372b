"""The shipped intent model's features and classifier (bot/text_features.py): unit-length TF-IDF sentence
features that survive persist and load, and a logistic regression that takes its regularisation from the config
and learns from those features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.text_features import TfidfFeaturizer, TunedLogisticRegressionClassifier

CONTEXT = ExecutionContext(GraphSchema({}), "test-model")

EXAMPLES = [
    ("je ne peux pas payer, j'ai perdu mon travail", "report_hardship"),
    ("I lost my job and cannot pay", "report_hardship"),
    ("chômage depuis mars, impossible de payer", "report_hardship"),
    ("I dispute this debt, I never ordered anything", "dispute_debt"),
    ("je conteste cette dette, jamais commandé", "dispute_debt"),
    ("that's not my debt, I contest it", "dispute_debt"),
    ("bonjour", "greet"),
    ("hello there", "greet"),
    ("salut", "greet"),
]


def tokenized(text: str, intent: str | None = None) -> Message:
    message = Message(data={"text": text, **({"intent": intent} if intent else {})})
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process([message])
    return message


def training() -> TrainingData:
    return TrainingData([tokenized(text, intent) for text, intent in EXAMPLES])


def test_features_are_unit_length_blocks_and_survive_persist_and_load(tmp_path: Path) -> None:
    storage, resource = LocalModelStorage(tmp_path), Resource("tfidf")
    config = TfidfFeaturizer.get_default_config()
    featurizer = TfidfFeaturizer.create(config, storage, resource, CONTEXT)
    featurizer.train(training())
    loaded = TfidfFeaturizer.load(config, storage, resource, CONTEXT)

    texts = ["je conteste, jamais commandé", "I lost my job", "zzz qqq"]
    fresh, reloaded = [tokenized(t) for t in texts], [tokenized(t) for t in texts]
    featurizer.process(fresh)
    loaded.process(reloaded)
    word_width = len(featurizer.vectorizers[0].vocabulary_)
    for a, b in zip(fresh, reloaded):
        sequence, sentence = a.get_sparse_features("text")
        assert sequence is None  # a linear classifier reads sentence features only
        row = sentence.features.toarray()[0]
        np.testing.assert_allclose(row, b.get_sparse_features("text")[1].features.toarray()[0], rtol=1e-6)
        # Each block (words, characters) is scaled to unit length; an unknown word leaves its block empty.
        words, characters = row[:word_width], row[word_width:]
        assert np.linalg.norm(characters) == pytest.approx(1.0, rel=1e-5)
        assert np.linalg.norm(words) == pytest.approx(1.0 if a.get("text") != "zzz qqq" else 0.0, abs=1e-5)


def test_repeating_a_word_does_not_make_a_message_weigh_more(tmp_path: Path) -> None:
    featurizer = TfidfFeaturizer.create(
        TfidfFeaturizer.get_default_config(), LocalModelStorage(tmp_path), Resource("tfidf"), CONTEXT
    )
    featurizer.train(training())
    once, thrice = tokenized("payer"), tokenized("payer payer payer")
    featurizer.process([once, thrice])
    norms = [np.linalg.norm(m.get_sparse_features("text")[1].features.toarray()) for m in (once, thrice)]
    assert norms[0] == pytest.approx(norms[1], rel=1e-5)


def test_untrained_featurizer_adds_nothing(tmp_path: Path) -> None:
    loaded = TfidfFeaturizer.load({}, LocalModelStorage(tmp_path), Resource("never_trained"), CONTEXT)
    message = tokenized("bonjour")
    loaded.process([message])
    assert message.get_sparse_features("text") == (None, None)


@pytest.mark.parametrize("ngrams", [[0, 2], [3, 2]])
def test_impossible_ngram_ranges_are_refused(ngrams: list[int]) -> None:
    with pytest.raises(ValueError, match="word_ngrams"):
        TfidfFeaturizer.validate_config({**TfidfFeaturizer.get_default_config(), "word_ngrams": ngrams})


def test_classifier_takes_c_from_the_config_and_learns_from_the_features(tmp_path: Path) -> None:
    storage = LocalModelStorage(tmp_path)
    featurizer = TfidfFeaturizer.create(TfidfFeaturizer.get_default_config(), storage, Resource("tfidf"), CONTEXT)
    data = training()
    featurizer.train(data)
    featurizer.process_training_data(data)
    config = {**TunedLogisticRegressionClassifier.get_default_config(), "C": 30.0}
    classifier = TunedLogisticRegressionClassifier.create(config, storage, Resource("logreg"), CONTEXT)
    assert classifier.clf.C == 30.0
    classifier.train(data)

    loaded = TunedLogisticRegressionClassifier.load(config, storage, Resource("logreg"), CONTEXT)
    messages = [tokenized("j'ai perdu mon travail"), tokenized("I contest this debt")]
    featurizer.process(messages)
    loaded.process(messages)
    assert [m.get("intent")["name"] for m in messages] == ["report_hardship", "dispute_debt"]
