"""spaCy in the NLU pipeline (issue 15 §3), as Rasa 3.6 graph components: French word vectors and lemmas of
`fr_core_news_md` for messages a cheap guess calls French (zeros for the others, so DIET always sees the same
widths), and a spaCy text classifier that backs DIET up on the five care signals.

The single bilingual model stays: English messages keep the features they have today, because no English
spaCy model is available here.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import logging
import random
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Text, Tuple, Type

import numpy as np
import scipy.sparse
import spacy
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.featurizers.sparse_featurizer.sparse_featurizer import SparseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.utils.tensorflow.constants import MEAN_POOLING, POOLING
from spacy.lang.en.stop_words import STOP_WORDS as ENGLISH_STOP_WORDS
from spacy.lang.fr.stop_words import STOP_WORDS as FRENCH_STOP_WORDS
from spacy.language import Language
from spacy.training import Example
from spacy.util import fix_random_seed, minibatch

logger = logging.getLogger(__name__)

FRENCH_MODEL = "fr_core_news_md"

# ---------------------------------------------------------------------------------------------------------
# Is this message French? Counting marker words, elisions and accents
# ---------------------------------------------------------------------------------------------------------


def _words(*lines: str) -> frozenset[str]:
    """A word list written as lines of space-separated words."""
    return frozenset(" ".join(lines).split())


# spaCy's French stop-word list holds interjections and words English writes too ("stop", "hi", "ta",
# "premier", "via"); counted as French, they would route "stop texting me" to the French vectors.
_NOT_FRENCH_MARKERS = _words(
    "a ah as attendu bas bat da different directe dire eh es ès effet ha hem hep hi ho hou houp hue hé i importe "
    "juste lès me na o on or ouias possible possibles premier relative rend sent six stop suit ta té tend tente "
    "via vu vé y â ô",
)
# Frequent French words outside that list, and SMS spellings.
_FRENCH_EXTRA = _words(
    "oui ouais ouai non nan bonjour bonsoir bjr slt salut merci mrc mrci jai jpeux jpe jsuis chui jsui cb tt ajd "
    "auj bcp dsl pk pq koi pr svp stp ptn mdr jcrois jveux jvais cest ca ça quoi voulez pouvez veux dois faut "
    "payer rappeler arrêtez arretez jamais rien",
)
# English words outside spaCy's English stop words, and SMS spellings.
_ENGLISH_EXTRA = _words(
    "u ur im ive dont cant wont didnt doesnt isnt pls plz please thx thanks thank cheers hello hey hiya yeah yep "
    "yes nope nah txt msg gonna wanna gotta pay paid money want need hi good morning sorry",
)
FRENCH_WORDS = frozenset((FRENCH_STOP_WORDS - ENGLISH_STOP_WORDS - _NOT_FRENCH_MARKERS) | _FRENCH_EXTRA)
ENGLISH_WORDS = frozenset((ENGLISH_STOP_WORDS | _ENGLISH_EXTRA) - FRENCH_WORDS - {"stop"})

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_FRENCH_ELISION = re.compile(r"\b(?:j|l|d|qu|c|n|m|s|t)'[aeiouyhéèêàâîôû]")
_ENGLISH_CONTRACTION = re.compile(r"[a-z](?:n't|'(?:m|re|ve|ll|d))\b")
_FRENCH_LETTERS = re.compile(r"[éèêëàâùûçôîïœ]")


def language_evidence(text: str) -> Tuple[int, int]:
    """(French, English) evidence in a message: marker words, elisions (j'ai, l'argent) and accented letters
    for French; marker words and contractions (don't, I'm) for English."""
    lowered = text.lower().replace("’", "'")
    words = _WORD.findall(lowered)
    french = sum(word in FRENCH_WORDS for word in words)
    french += len(_FRENCH_ELISION.findall(lowered)) + len(_FRENCH_LETTERS.findall(lowered))
    english = sum(word in ENGLISH_WORDS for word in words) + len(_ENGLISH_CONTRACTION.findall(lowered))
    return french, english


def is_french(text: str) -> bool:
    """True when a message shows more French than English evidence. Messages with none either way
    ("ok", "CR-10001", "12/03/1985") are not called French: they keep today's features only."""
    french, english = language_evidence(text)
    return french > english


# ---------------------------------------------------------------------------------------------------------
# The French pipeline, loaded once per process, and its tokens aligned with the pipeline's tokens
# ---------------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def french_pipeline(name: str = FRENCH_MODEL) -> Language:
    """The spaCy pipeline, loaded once per process (fr_core_news_md is ≈40 MB and takes seconds to load).
    Without the parser and the named entities, which nothing here uses; the lemmatizer needs the rest."""
    return spacy.load(name, exclude=["parser", "ner"])


def _model_fingerprint(name: str) -> str:
    """Changes when this module, spaCy or the spaCy model changes, so Rasa's training cache never hands
    back features or models computed by an older version."""
    source = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    try:
        model_version = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        model_version = "absent"
    return f"{source}-spacy{spacy.__version__}-{name}{model_version}"


@dataclass(frozen=True)
class SpacyToken:
    """What the components keep of a spaCy token: its span, lemma and static vector key."""

    start: int
    end: int
    text: str
    lemma: str
    is_punct: bool


def _overlapping(token: Token, spacy_tokens: Sequence[SpacyToken]) -> List[SpacyToken]:
    """The spaCy tokens under a pipeline token: "j" of "j'ai" is spaCy's "j'"; "mois-ci" is "mois", "-", "ci".
    Punctuation counts only when nothing else is there."""
    under = [t for t in spacy_tokens if t.start < token.end and token.start < t.end]
    words = [t for t in under if not t.is_punct]
    return words or under


def _tokens(message: Message) -> List[Token]:
    return message.get(TOKENS_NAMES[TEXT]) or []


# ---------------------------------------------------------------------------------------------------------
# (a) Dense features: fr_core_news_md word vectors
# ---------------------------------------------------------------------------------------------------------


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class FrenchSpacyFeaturizer(DenseFeaturizer, GraphComponent):
    """Word vectors of fr_core_news_md for French messages, zeros of the same width for the others.

    Sequence features: one 300-wide row per token of the pipeline's tokenizer (the mean of the vectors of the
    spaCy tokens under it); sentence feature: the mean of the non-zero rows, as Rasa's `SpacyFeaturizer` does.
    Only spaCy's tokenizer and vocabulary are used (static vectors), so a parse costs well under a millisecond.
    """

    @classmethod
    def required_components(cls) -> List[Type]:
        return [Tokenizer]

    @staticmethod
    def required_packages() -> List[Text]:
        return ["spacy"]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**DenseFeaturizer.get_default_config(), POOLING: MEAN_POOLING, "model": FRENCH_MODEL}

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        return _model_fingerprint(config.get("model", FRENCH_MODEL))

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        pass

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        super().__init__(name, {**self.get_default_config(), **config})
        self._nlp = french_pipeline(self._config["model"])
        self.width = int(self._nlp.vocab.vectors_length)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> FrenchSpacyFeaturizer:
        return cls(config, execution_context.node_name)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            tokens = _tokens(message)
            if not tokens:
                continue
            sequence = self.sequence_features(message.get(TEXT), tokens)
            sentence = self.aggregate_sequence_features(sequence, self._config[POOLING])
            self.add_features_to_message(sequence, sentence, TEXT, message)
        return messages

    def sequence_features(self, text: str, tokens: Sequence[Token]) -> np.ndarray:
        """One row per token: French vectors for a French message, zeros otherwise."""
        sequence = np.zeros((len(tokens), self.width), dtype=np.float32)
        if not is_french(text):
            return sequence
        doc = self._nlp.make_doc(text)  # tokenizer only
        spacy_tokens = [SpacyToken(t.idx, t.idx + len(t), t.text, t.text, t.is_punct) for t in doc]
        for row, token in enumerate(tokens):
            vectors = [v for v in (self._vector(t.text) for t in _overlapping(token, spacy_tokens)) if v is not None]
            if vectors:
                sequence[row] = np.mean(vectors, axis=0)
        return sequence

    def _vector(self, word: str) -> Optional[np.ndarray]:
        vocab = self._nlp.vocab
        for form in (word, word.lower()):
            if vocab.has_vector(form):
                return vocab.get_vector(form)
        return None


# ---------------------------------------------------------------------------------------------------------
# (a, optional) Sparse features: fr_core_news_md lemmas
# ---------------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=16384)
def french_lemmas(text: str, model: str = FRENCH_MODEL) -> Tuple[SpacyToken, ...]:
    """spaCy tokens of a French text with their lemmas (tok2vec, morphologizer, rules): ≈3 ms a message.
    Cached, because training featurizes the same texts twice (the `train` and the `process_training_data`
    nodes)."""
    doc = french_pipeline(model)(text)
    return tuple(SpacyToken(t.idx, t.idx + len(t), t.text, t.lemma_.lower(), t.is_punct) for t in doc)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=True)
class FrenchLemmaFeaturizer(SparseFeaturizer, GraphComponent):
    """Counts of fr_core_news_md lemmas for French messages ("payé", "paierai", "payons" are all "payer"), over
    the lemmas of the French training messages; all-zero rows of the same width for the others."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [Tokenizer]

    @staticmethod
    def required_packages() -> List[Text]:
        return ["spacy"]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # A lemma seen fewer than `min_count` times in the French training messages is not a feature.
        return {**SparseFeaturizer.get_default_config(), "model": FRENCH_MODEL, "min_count": 1}

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        return _model_fingerprint(config.get("model", FRENCH_MODEL))

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        pass

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        name: Text,
        vocabulary: Optional[Dict[str, int]] = None,
    ) -> None:
        super().__init__(name, {**self.get_default_config(), **config})
        self._model_storage = model_storage
        self._resource = resource
        self.vocabulary: Dict[str, int] = vocabulary or {}

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> FrenchLemmaFeaturizer:
        return cls(config, model_storage, resource, execution_context.node_name)

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> FrenchLemmaFeaturizer:
        try:
            with model_storage.read_from(resource) as directory:
                vocabulary = json.loads((directory / "lemmas.json").read_text(encoding="utf-8"))
        except (ValueError, FileNotFoundError):
            logger.warning("FrenchLemmaFeaturizer has no trained vocabulary; it adds no features.")
            vocabulary = {}
        return cls(config, model_storage, resource, execution_context.node_name, vocabulary)

    def lemmas_by_token(self, text: str, tokens: Sequence[Token]) -> List[List[str]]:
        """The lemmas under each pipeline token of a French text."""
        spacy_tokens = french_lemmas(text, self._config["model"])
        return [sorted({t.lemma for t in _overlapping(token, spacy_tokens)}) for token in tokens]

    def train(self, training_data: TrainingData) -> Resource:
        counts: Counter[str] = Counter()
        for message in training_data.training_examples:
            text, tokens = message.get(TEXT), _tokens(message)
            if tokens and is_french(text):
                counts.update(lemma for lemmas in self.lemmas_by_token(text, tokens) for lemma in lemmas)
        kept = sorted(lemma for lemma, count in counts.items() if count >= self._config["min_count"])
        self.vocabulary = {lemma: index for index, lemma in enumerate(kept)}
        with self._model_storage.write_to(self._resource) as directory:
            (directory / "lemmas.json").write_text(json.dumps(self.vocabulary, ensure_ascii=False), encoding="utf-8")
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        if not self.vocabulary:
            return messages  # no French in the training data: no feature at all, for every message alike
        for message in messages:
            tokens = _tokens(message)
            if tokens:
                sequence = self.sequence_features(message.get(TEXT), tokens)
                sentence = scipy.sparse.coo_matrix(sequence.sum(axis=0))
                self.add_features_to_message(sequence, sentence, TEXT, message)
        return messages

    def sequence_features(self, text: str, tokens: Sequence[Token]) -> scipy.sparse.coo_matrix:
        """One row per token with a 1 in the column of each known lemma under it; empty for a message
        that is not French."""
        rows: List[int] = []
        columns: List[int] = []
        if is_french(text):
            for row, lemmas in enumerate(self.lemmas_by_token(text, tokens)):
                for lemma in lemmas:
                    if lemma in self.vocabulary:
                        rows.append(row)
                        columns.append(self.vocabulary[lemma])
        data = np.ones(len(rows), dtype=np.float32)
        return scipy.sparse.coo_matrix((data, (rows, columns)), shape=(len(tokens), len(self.vocabulary)))


# ---------------------------------------------------------------------------------------------------------
# (b) A second detector for the care signals: a spaCy text classifier after DIET
# ---------------------------------------------------------------------------------------------------------

CARE_SIGNALS = ("express_vulnerability", "report_hardship", "dispute_debt", "stop_contact", "request_human")
OTHER = "other"
# A raised signal must clear the FallbackClassifier (threshold 0.45, ambiguity 0.05): from 0.55 up, the
# signal has ≥ 0.55 and every other intent ≤ 0.45 after renormalisation.
THRESHOLD_GRID = (0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)

_ARCHITECTURES: Dict[str, Dict[str, Any]] = {
    # spaCy's default textcat model, with word bigrams in its bag of words: a linear bag of words beside a small
    # CNN over hashed word, prefix, suffix and shape embeddings. Vectors-free, so it works on a blank
    # multilingual pipeline for both languages.
    "ensemble": {
        "@architectures": "spacy.TextCatEnsemble.v2",
        "linear_model": {
            "@architectures": "spacy.TextCatBOW.v3",
            "exclusive_classes": True,
            "length": 262144,
            "ngram_size": 2,
            "no_output_layer": False,
        },
        "tok2vec": {
            "@architectures": "spacy.Tok2Vec.v2",
            "embed": {
                "@architectures": "spacy.MultiHashEmbed.v2",
                "width": 64,
                "rows": [2000, 2000, 500, 1000, 500],
                "attrs": ["NORM", "LOWER", "PREFIX", "SUFFIX", "SHAPE"],
                "include_static_vectors": False,
            },
            "encode": {
                "@architectures": "spacy.MaxoutWindowEncoder.v2",
                "width": 64,
                "window_size": 1,
                "maxout_pieces": 3,
                "depth": 2,
            },
        },
    },
    # Bag of words and bigrams alone: ten times faster, more precise, lower recall.
    "bow": {
        "@architectures": "spacy.TextCatBOW.v3",
        "exclusive_classes": True,
        "length": 262144,
        "ngram_size": 2,
        "no_output_layer": False,
    },
}


@dataclass(frozen=True)
class ThresholdChoice:
    """A threshold and what it gave on the validation split: of the messages where the classifier called a
    care signal with at least that probability, the share it got right (precision); of the care-signal
    messages, the share it called right (recall)."""

    threshold: float
    precision: float
    recall: float
    fired: int


def top_care_signal(scores: Dict[str, float], care_signals: Sequence[str] = CARE_SIGNALS) -> Tuple[str, float]:
    signal = max(care_signals, key=lambda label: scores.get(label, 0.0))
    return signal, scores.get(signal, 0.0)


def choose_threshold(
    scores: Sequence[Dict[str, float]],
    labels: Sequence[str],
    min_precision: float,
    care_signals: Sequence[str] = CARE_SIGNALS,
    grid: Sequence[float] = THRESHOLD_GRID,
) -> Optional[ThresholdChoice]:
    """The threshold of the grid with the best recall among those whose precision reaches `min_precision`
    (the higher threshold on a tie); None when none does, and the detector must then stay silent."""
    care_messages = sum(label in care_signals for label in labels)
    best: Optional[ThresholdChoice] = None
    if not care_messages:
        return None
    for threshold in grid:
        fired = correct = 0
        for score, label in zip(scores, labels):
            signal, probability = top_care_signal(score, care_signals)
            if probability >= threshold:
                fired += 1
                correct += signal == label
        if not fired or correct / fired < min_precision:
            continue
        choice = ThresholdChoice(threshold, correct / fired, correct / care_messages, fired)
        if best is None or choice.recall >= best.recall:
            best = choice
    return best


def raise_care_signal(
    intent: Dict[str, Any],
    ranking: List[Dict[str, Any]],
    scores: Dict[str, float],
    threshold: float,
    care_signals: Sequence[str] = CARE_SIGNALS,
) -> Optional[Tuple[Dict[str, Any], List[Dict[str, Any]]]]:
    """The combination rule. When the classifier gives a care signal a probability ≥ `threshold` and DIET's
    top intent is another one, the signal's confidence becomes max(its probability, DIET's top confidence) and
    every other intent's is scaled down so that DIET's distribution still sums to 1: the signal wins, by a
    margin that clears the fallback's ambiguity check. Returns the new (intent, ranking), or None when the
    rule does not apply."""
    signal, probability = top_care_signal(scores, care_signals)
    if probability < threshold or intent.get(INTENT_NAME_KEY) == signal:
        return None
    top_confidence = float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
    previous = next((float(e[PREDICTED_CONFIDENCE_KEY]) for e in ranking if e[INTENT_NAME_KEY] == signal), 0.0)
    confidence = max(probability, top_confidence)
    scale = (1.0 - confidence) / (1.0 - previous) if previous < 1.0 else 0.0
    others = [
        {**entry, PREDICTED_CONFIDENCE_KEY: float(entry[PREDICTED_CONFIDENCE_KEY]) * scale}
        for entry in ranking
        if entry[INTENT_NAME_KEY] != signal
    ]
    raised = {INTENT_NAME_KEY: signal, PREDICTED_CONFIDENCE_KEY: confidence}
    # Not cut back to DIET's ranking length: a signal that was not in it adds one entry.
    return dict(raised), [raised, *sorted(others, key=lambda e: -e[PREDICTED_CONFIDENCE_KEY])]


def care_label(intent: Optional[str], care_signals: Sequence[str] = CARE_SIGNALS) -> str:
    return intent if intent in care_signals else OTHER


def split_for_validation(
    examples: Sequence[Tuple[str, str]], fraction: float, seed: int
) -> Tuple[List[Tuple[str, str]], List[Tuple[str, str]]]:
    """A stratified split of (text, label) pairs: `fraction` of each label (at least one when it has two or
    more examples) is held out."""
    by_label: Dict[str, List[Tuple[str, str]]] = {}
    for example in examples:
        by_label.setdefault(example[1], []).append(example)
    rng = random.Random(seed)
    train, validation = [], []
    for label in sorted(by_label):
        group = list(by_label[label])
        rng.shuffle(group)
        held = max(1, round(len(group) * fraction)) if len(group) >= 2 else 0
        validation += group[:held]
        train += group[held:]
    return train, validation


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class CareSignalTextCategorizer(GraphComponent, IntentClassifier):
    """A spaCy text classifier (blank multilingual pipeline, no vectors) trained on the training data with six
    labels, the five care signals and "other", placed after DIETClassifier and before FallbackClassifier. It
    raises a care signal DIET missed when its own probability reaches a threshold chosen inside `train` on a
    validation split of the training data (see `raise_care_signal` and `choose_threshold`)."""

    @staticmethod
    def required_packages() -> List[Text]:
        return ["spacy"]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "care_signals": list(CARE_SIGNALS),
            "architecture": "ensemble",  # or "bow"
            "epochs": 12,  # the most; the best epoch on the validation split is kept
            "batch_size": 16,
            "dropout": 0.2,
            "validation_fraction": 0.2,
            # The threshold is the lowest (best recall) whose validation precision reaches this.
            "min_precision": 0.9,
            # A number fixes the threshold instead: no validation split, `epochs` epochs on all the data.
            "threshold": None,
            # After choosing, train again on all the training data for the chosen number of epochs. Off by
            # default: the threshold was calibrated on the model that is kept, and training stays one run.
            "retrain_on_all": False,
            "random_seed": 1,
        }

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        return _model_fingerprint(FRENCH_MODEL)

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        nlp: Optional[Language] = None,
        threshold: Optional[float] = None,
        report: Optional[Dict[str, Any]] = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.nlp = nlp
        self.threshold = threshold
        self.report: Dict[str, Any] = report or {}
        self.care_signals: List[str] = list(self._config["care_signals"])

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> CareSignalTextCategorizer:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> CareSignalTextCategorizer:
        try:
            with model_storage.read_from(resource) as directory:
                report = json.loads((directory / "care_textcat.json").read_text(encoding="utf-8"))
                nlp = spacy.load(directory / "textcat") if (directory / "textcat").exists() else None
        except (ValueError, FileNotFoundError):
            logger.warning("CareSignalTextCategorizer has no trained model; it changes no prediction.")
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, nlp, report.get("threshold"), report)

    # -- training ----------------------------------------------------------------------------------------

    def _blank_pipeline(self) -> Language:
        nlp = spacy.blank("xx")
        model = _ARCHITECTURES[self._config["architecture"]]
        textcat = nlp.add_pipe("textcat", config={"model": model, "threshold": 0.5})
        for label in [*self.care_signals, OTHER]:
            textcat.add_label(label)
        return nlp

    def _examples(self, nlp: Language, data: Sequence[Tuple[str, str]]) -> List[Example]:
        labels = [*self.care_signals, OTHER]
        return [
            Example.from_dict(nlp.make_doc(text), {"cats": {name: float(name == label) for name in labels}})
            for text, label in data
        ]

    def _fit(
        self,
        data: Sequence[Tuple[str, str]],
        epochs: int,
        validation: Sequence[Tuple[str, str]] = (),
    ) -> Tuple[Language, Optional[ThresholdChoice], int]:
        """Trains for `epochs` epochs; with a validation split, keeps the epoch whose best threshold gives the
        highest recall (precision ≥ min_precision) and returns that epoch's model, choice and number."""
        fix_random_seed(self._config["random_seed"])
        rng = random.Random(self._config["random_seed"])
        nlp = self._blank_pipeline()
        examples = self._examples(nlp, data)
        optimizer = nlp.initialize(lambda: examples)
        best: Tuple[Optional[ThresholdChoice], int, Optional[bytes]] = (None, epochs, None)
        for epoch in range(1, epochs + 1):
            rng.shuffle(examples)
            for batch in minibatch(examples, size=self._config["batch_size"]):
                nlp.update(batch, sgd=optimizer, drop=self._config["dropout"])
            if validation:
                scores = [doc.cats for doc in nlp.pipe(text for text, _ in validation)]
                choice = choose_threshold(
                    scores, [label for _, label in validation], self._config["min_precision"], self.care_signals
                )
                logger.debug(f"care textcat epoch {epoch}: {choice}")
                if choice is not None and (best[0] is None or choice.recall > best[0].recall):
                    best = (choice, epoch, nlp.to_bytes())
        if validation and best[2] is not None:
            nlp.from_bytes(best[2])
        return nlp, best[0], best[1]

    def train(self, training_data: TrainingData) -> Resource:
        data = [
            (message.get(TEXT), care_label(message.get(INTENT), self.care_signals))
            for message in training_data.intent_examples
            if message.get(TEXT)
        ]
        present = {label for _, label in data}
        self.report = {"examples": len(data), "labels": sorted(present)}
        if len(present) < 2 or present == {OTHER}:
            logger.warning("CareSignalTextCategorizer: no care signal in the training data; nothing trained.")
            self.nlp, self.threshold = None, None
        elif self._config["threshold"] is not None:
            self.nlp, _, _ = self._fit(data, self._config["epochs"])
            self.threshold = float(self._config["threshold"])
            self.report.update(threshold=self.threshold, epochs=self._config["epochs"], chosen_on="config")
        else:
            train, validation = split_for_validation(data, self._config["validation_fraction"], self._config["random_seed"])
            self.nlp, choice, epoch = self._fit(train, self._config["epochs"], validation)
            self.threshold = choice.threshold if choice else None
            if choice is None:
                logger.warning(
                    "CareSignalTextCategorizer: no threshold reaches the precision of %s on the validation split; "
                    "the detector stays silent.",
                    self._config["min_precision"],
                )
            elif self._config["retrain_on_all"]:
                self.nlp, _, _ = self._fit(data, epoch)
            self.report.update(
                threshold=self.threshold,
                epochs=epoch,
                chosen_on="validation",
                validation={
                    "examples": len(validation),
                    "precision": choice.precision if choice else None,
                    "recall": choice.recall if choice else None,
                    "fired": choice.fired if choice else None,
                },
            )
        logger.info(f"CareSignalTextCategorizer trained: {self.report}")
        self.persist()
        return self._resource

    def persist(self) -> None:
        with self._model_storage.write_to(self._resource) as directory:
            if self.nlp is not None:
                self.nlp.to_disk(directory / "textcat")
            report = {**self.report, "threshold": self.threshold}
            (directory / "care_textcat.json").write_text(json.dumps(report, indent=1), encoding="utf-8")

    # -- prediction --------------------------------------------------------------------------------------

    def scores(self, texts: Iterable[str]) -> List[Dict[str, float]]:
        if self.nlp is None:
            return [{} for _ in texts]
        return [dict(doc.cats) for doc in self.nlp.pipe(texts)]

    def process(self, messages: List[Message]) -> List[Message]:
        if self.nlp is None or self.threshold is None:
            return messages
        for message in messages:
            intent, text = message.get(INTENT), message.get(TEXT)
            if not intent or not intent.get(INTENT_NAME_KEY) or not text:
                continue
            scores = dict(self.nlp(text).cats)
            raised = raise_care_signal(intent, message.get(INTENT_RANKING_KEY) or [], scores, self.threshold, self.care_signals)
            if raised is not None:
                logger.debug(f"care textcat raised {raised[0]} over DIET's {intent}")
                message.set(INTENT, raised[0], add_to_output=True)
                message.set(INTENT_RANKING_KEY, raised[1], add_to_output=True)
        return messages
