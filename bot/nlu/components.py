"""Our Rasa NLU components. They run inside Rasa's own environment
(config.yml names them; Rasa puts the project directory on its import path).

- `LinearIntentClassifier` names the intent: TF-IDF word and character
  n-grams in a logistic regression, in a weighted mean with
  DIETClassifier's confidences (`linear_weight` in config.yml). The two
  models err differently: the linear one generalises better on short
  messages, DIET is surer of long ones (`make bench-nlu`).
- `EverydayDanishTokenizer` is Rasa's whitespace tokenizer that gives
  each word its written form as the lemma the featurizers read ("ka ja"
  is read as "kan jeg", see bot.nlu.spelling); the linear classifier and
  the unknown-words check read the same written form.
- `UnknownWordsClassifier` learns the vocabulary of the training data and,
  after the FallbackClassifier, sets Rasa's `nlu_fallback` intent when a
  message shares no word with it (see bot.nlu.vocabulary).
"""

from __future__ import annotations

import json
from typing import Any

import skops.io
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline, make_union

from bot.nlu.spelling import normalise, normalise_words, written_lower
from bot.nlu.vocabulary import Vocabulary

VOCABULARY_FILE = "vocabulary.json"
INTENT_MODEL_FILE = "intents.skops"
#: The only types in the saved intent model that skops does not trust by
#: default; loading refuses any other.
INTENT_MODEL_TYPES = ["bot.nlu.spelling.written_lower", "scipy.sparse._csr.csr_matrix"]
#: Intents in the ranking Rasa reports (its own classifiers' default).
RANKING_LENGTH = 10


def intent_model() -> Pipeline:
    """Word 1-2-grams and character 2-5-grams (misspellings, compounds) of
    the text in its written form, lower-cased, TF-IDF weighted, into a
    logistic regression that weighs every intent alike however many
    examples it has. bench/nlu_baseline.py cross-validates this same model
    in a minute."""
    features = make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"[^\s]+", preprocessor=written_lower),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, preprocessor=written_lower),
    )
    return make_pipeline(features, LogisticRegression(C=30, max_iter=3000, class_weight="balanced"))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class EverydayDanishTokenizer(WhitespaceTokenizer):
    """Whitespace tokens whose lemma is the word's written form. The tokens
    keep the text as typed, so entity positions are unchanged."""

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        tokens: list[Token] = super().tokenize(message, attribute)
        for token, lemma in zip(tokens, normalise_words([t.text for t in tokens]), strict=True):
            token.lemma = lemma
        return tokens


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(GraphComponent):
    def __init__(
        self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource, model: Pipeline
    ) -> None:
        self._model_storage = model_storage
        self._resource = resource
        self.model = model
        self.linear_weight = float(config["linear_weight"])

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """`linear_weight`: the linear model's share of the intent
        confidence; DIET has the rest."""
        return {"linear_weight": 0.5}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearIntentClassifier:
        return cls(config, model_storage, resource, intent_model())

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearIntentClassifier:
        with model_storage.read_from(resource) as directory:
            path = directory / INTENT_MODEL_FILE
            model = skops.io.load(path, trusted=INTENT_MODEL_TYPES)
        return cls(config, model_storage, resource, model)

    def train(self, training_data: TrainingData) -> Resource:
        examples = training_data.intent_examples
        self.model.fit([e.get(TEXT) for e in examples], [e.get(INTENT) for e in examples])
        with self._model_storage.write_to(self._resource) as directory:
            skops.io.dump(self.model, directory / INTENT_MODEL_FILE)
        return self._resource

    def confidences(self, messages: list[Message]) -> list[tuple[dict[str, float], dict[str, float]]]:
        """DIET's and the linear model's confidence in each intent, per message
        (bench/nlu_blend.py records them to choose `linear_weight`)."""
        texts = [message.get(TEXT) or "" for message in messages]
        return [
            (
                {i[INTENT_NAME_KEY]: i[PREDICTED_CONFIDENCE_KEY] for i in message.get(INTENT_RANKING_KEY) or []},
                {str(name): float(p) for name, p in zip(self.model.classes_, probabilities, strict=True)},
            )
            for message, probabilities in zip(messages, self.model.predict_proba(texts), strict=True)
        ]

    def process(self, messages: list[Message]) -> list[Message]:
        for message, (diet, linear) in zip(messages, self.confidences(messages), strict=True):
            blended = {name: blend(p, diet.get(name), self.linear_weight) for name, p in linear.items()}
            ranking = [
                {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence}
                for name, confidence in sorted(blended.items(), key=lambda item: -item[1])[:RANKING_LENGTH]
            ]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages


def blend(linear: float, diet: float | None, linear_weight: float) -> float:
    """The weighted mean of the two models' confidences (DIET ranks only its top ten)."""
    return linear_weight * linear + (1 - linear_weight) * (diet or 0.0)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class UnknownWordsClassifier(GraphComponent):
    def __init__(self, model_storage: ModelStorage, resource: Resource, vocabulary: Vocabulary) -> None:
        self._model_storage = model_storage
        self._resource = resource
        self.vocabulary = vocabulary

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> UnknownWordsClassifier:
        return cls(model_storage, resource, Vocabulary(()))

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> UnknownWordsClassifier:
        with model_storage.read_from(resource) as directory:
            saved = json.loads((directory / VOCABULARY_FILE).read_text(encoding="utf-8"))
        return cls(model_storage, resource, Vocabulary(saved["words"], saved["stems"]))

    def train(self, training_data: TrainingData) -> Resource:
        texts = [example.get(TEXT) or "" for example in training_data.training_examples]
        texts += [*training_data.entity_synonyms, *training_data.entity_synonyms.values()]
        stems = [element for table in training_data.lookup_tables for element in table["elements"]]
        self.vocabulary = Vocabulary.from_texts(texts, stems)
        saved = {"words": sorted(self.vocabulary.words), "stems": sorted(self.vocabulary.stems)}
        with self._model_storage.write_to(self._resource) as directory:
            (directory / VOCABULARY_FILE).write_text(json.dumps(saved), encoding="utf-8")
        return self._resource

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            predicted = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            text = normalise(message.get(TEXT) or "")
            if predicted == DEFAULT_NLU_FALLBACK_INTENT_NAME or not self.vocabulary.is_unknown(text):
                continue
            fallback = {INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME, PREDICTED_CONFIDENCE_KEY: 1.0}
            message.set(INTENT, fallback, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [fallback, *(message.get(INTENT_RANKING_KEY) or [])], add_to_output=True)
        return messages
