"""Lexical retrieval over the curated articles, one index per municipality.

A question is cleaned (spoken spellings written out, see bot.nlu.spelling;
lower case; a compound typed as two words joined; Danish stop words out),
unknown words are repaired (typos by fuzzy match against the vocabulary,
compounds split into known words), then stemmed with the Danish Snowball
stemmer. Each article is
indexed as several passages (its questions, its title, its answer) with BM25;
an article's score is its best passage score, normalised by the most the
question could score, so scores run from 0 to about 1 and mean "how much of
what was asked is matched". Only the user's municipality and the common
(`alle`) articles are in its index, so another municipality's article can
never be returned.

A follow-up ("hvor mange timer om ugen?") is searched within the
conversation's subject: its own score is blended with the score of the
subject's words, and articles on the subject's topic count a little more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import cached_property

import bm25s
import numpy as np
import numpy.typing as npt
import Stemmer
from bm25s.stopwords import STOPWORDS_DANISH
from rapidfuzz import fuzz, process

from bot.knowledge.gaps import GAPS, Gap, named_gap
from bot.knowledge.schema import Article
from bot.knowledge.store import KnowledgeBase
from bot.nlu.spelling import normalise
from bot.taxonomy import BOTH_AUDIENCES, Audience, Municipality, Topic, municipality_spans

#: A score per article, in the index's order.
Scores = npt.NDArray[np.float64]

_WORD = re.compile(r"[a-zæøå0-9]+(?:-[a-zæøå0-9]+)*")
#: Words that carry no meaning for retrieval, beyond the standard stop list.
_EXTRA_STOPWORDS = frozenset(
    [
        "hej",
        "hejsa",
        "goddag",
        "godmorgen",
        "godaften",
        "hallo",
        "hvad",
        "hvordan",
        "hvornår",
        "hvorfor",
        "hvem",
        "hvilke",
        "hvilken",
        "kan",
        "kunne",
        "man",
        "gerne",
        "vil",
        "jeg",
        "du",
        "i",
        "vi",
        "det",
        "der",
        "er",
        "har",
        "få",
        "får",
        "gøre",
        "må",
        "skal",
        "mig",
        "os",
        "jer",
        "min",
        "mit",
        "mine",
        "sin",
        "noget",
        "nogen",
        "lidt",
        "meget",
        "også",
        "bare",
        "lige",
        "altså",
        "godt",
        "nu",
        "så",
        # Fillers of everyday writing.
        "egentlig",
        "virkelig",
        "faktisk",
        "overhovedet",
        "eneste",
        "helt",
        "undskyld",
        "tak",
        "okay",
        "ok",
    ]
)
STOPWORDS = frozenset(STOPWORDS_DANISH) | _EXTRA_STOPWORDS
#: Danish compounds join their parts directly or with a linking -s- or -e-.
_LINKS = ("", "s", "e")
MIN_FUZZY_LENGTH = 5
FUZZY_CUTOFF = 84
MIN_SPLIT_PART = 3


class Decision(str, Enum):
    ANSWER = "answer"
    CLARIFY = "clarify"
    NONE = "none"


@dataclass(frozen=True)
class Hit:
    article: Article
    score: float


@dataclass(frozen=True)
class SearchResult:
    hits: tuple[Hit, ...]
    decision: Decision

    @property
    def best(self) -> Hit | None:
        return self.hits[0] if self.hits else None


@dataclass(frozen=True)
class Tuning:
    """Weights and thresholds, set by `make bench-kb` on the development set."""

    question_weight: float = 1.0
    title_weight: float = 0.9
    answer_weight: float = 0.7
    #: Share of the score from the whole article (all its text as one
    #: document); the rest comes from its best single passage.
    article_share: float = 0.6
    #: BM25 length normalisation for whole articles (they vary a lot in length).
    article_b: float = 0.3
    audience_boost: float = 1.1
    #: An article written only for the other audience (an employer's article
    #: shown to a citizen) counts this much.
    other_audience_factor: float = 0.7
    local_boost: float = 1.03
    #: Share of the ranking from character n-grams over whole articles (see
    #: `MunicipalityIndex.char_scores`); the rest is the word-level score.
    char_share: float = 0.7
    #: A score is the share matched of the question's most informative known
    #: words, at most `ceiling_words` of them, with at most
    #: `ceiling_unknown_words` words no article uses counted as misses. A
    #: long message that tells a whole situation is then not judged by every
    #: word of it. `bench.e2e --dialogue-only` chose 4 and 2 on the development sets
    #: (long messages answered instead of "no answer"; out-of-scope
    #: rejection in `make bench-kb` unchanged).
    ceiling_words: int = 4
    ceiling_unknown_words: int = 2
    #: Below this normalised score nothing answers the question.
    none_below: float = 0.25
    #: The same when the NLU model is already sure the message is an
    #: employment question (see `search(..., nlu_sure=True)`).
    none_below_nlu_sure: float = 0.15
    #: How much a word no article uses counts against a match when the NLU
    #: model is sure (a long story names many such things: "diskusprolaps",
    #: "sosu-assistent"); 1 is as much as the rarest known word.
    unknown_weight_nlu_sure: float = 0.5
    #: At or above this the top hit answers even if others are close.
    sure_above: float = 0.6
    #: The knowledge base alone is certain (and overrules an NLU model that
    #: called the message out of scope, "kan jeg få et kursus i excel") when
    #: the top hit scores this much and the best hit on another topic at most
    #: `certain_margin` of it. No out-of-scope development question passes;
    #: with the character n-grams, 0.3 and 0.65 answer 4 of the 15
    #: answerable development questions the NLU model calls out of scope.
    certain_above: float = 0.3
    certain_margin: float = 0.65
    #: A runner-up on another topic within this ratio of the top score makes
    #: the question unclear (a true tie). At 0.95 every question the engine
    #: asked about in the development set had the right topic on top (8 of
    #: 8): answer, don't quiz.
    close_ratio: float = 0.99
    #: A follow-up's own score and its subject's score are blended with this
    #: weight for the subject, and articles on the subject's topic count this
    #: much more (`bench.e2e --dialogue-only` chose both on the development
    #: conversations).
    subject_weight: float = 1.0
    subject_topic_boost: float = 1.5
    #: Runners-up scoring at least this share of the top hit are offered
    #: beside the answer ("Se også").
    see_also_ratio: float = 0.7
    see_also_max: int = 2
    top_k: int = 5


def words(text: str) -> list[str]:
    """Lower-cased word tokens without stop words."""
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


#: Character n-grams from this to that length, within words.
CHAR_GRAMS = (3, 5)


def char_grams(tokens: list[str]) -> list[str]:
    """Every character 3- to 5-gram of each token, with its edges marked."""
    low, high = CHAR_GRAMS
    grams: list[str] = []
    for token in tokens:
        marked = f"<{token}>"
        for n in range(low, high + 1):
            grams += [marked[i : i + n] for i in range(max(1, len(marked) - n + 1))]
    return grams


def _without_municipalities(text: str) -> str:
    """The text without the four municipalities' names: in a follow-up
    ("og i Ballerup?") the name says where to search, not what about."""
    for start, end, _ in reversed(municipality_spans(text)):
        text = text[:start] + " " + text[end:]
    return text


def _join_split_compounds(tokens: list[str], vocabulary: frozenset[str]) -> list[str]:
    """Join two words typed apart when together they are a known word ("fleks job")."""
    joined: list[str] = []
    for token in tokens:
        if joined and joined[-1] + token in vocabulary and token not in STOPWORDS:
            joined[-1] += token
        else:
            joined.append(token)
    return joined


@dataclass(frozen=True)
class Subject:
    """What the conversation is about: the words of the question the last
    answer was for, and that answer's topic."""

    text: str
    topic: Topic | None = None


class Analyzer:
    """Turns text into stems; repairs unknown query words against a vocabulary."""

    def __init__(self) -> None:
        self._stemmer = Stemmer.Stemmer("danish")

    def stems(self, tokens: list[str]) -> list[str]:
        stems: list[str] = self._stemmer.stemWords(tokens)
        return stems

    def repair(self, token: str, vocabulary: frozenset[str], choices: list[str]) -> list[str]:
        """Return known words for an unknown token: a compound split or a typo fix."""
        if token in vocabulary or len(token) < MIN_FUZZY_LENGTH:
            return [token]
        split = _split_compound(token, vocabulary)
        if split:
            return split
        match = process.extractOne(token, choices, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
        return [match[0]] if match else [token]


def _split_compound(token: str, vocabulary: frozenset[str]) -> list[str] | None:
    for cut in range(len(token) - MIN_SPLIT_PART, MIN_SPLIT_PART - 1, -1):
        head, tail = token[:cut], token[cut:]
        for link in _LINKS:
            if link and not head.endswith(link):
                continue
            stem = head[: len(head) - len(link)] if link else head
            if len(stem) >= MIN_SPLIT_PART and stem in vocabulary and tail in vocabulary:
                return [stem, tail]
    return None


class MunicipalityIndex:
    """BM25 over one municipality's articles plus the common ones.

    Two indexes: one over passages (each question, the title, the answer),
    where the best passage shows a close match to one way of asking, and one
    over whole articles, which rewards matching several of its words.
    """

    def __init__(self, articles: list[Article], analyzer: Analyzer, tuning: Tuning) -> None:
        self.articles = articles
        self.analyzer = analyzer
        passages: list[list[str]] = []
        owners: list[int] = []
        weights: list[float] = []
        for n, article in enumerate(articles):
            texts = [(q, tuning.question_weight) for q in article.questions]
            texts += [(article.title, tuning.title_weight), (article.answer, tuning.answer_weight)]
            for text, weight in texts:
                passages.append(words(text))
                owners.append(n)
                weights.append(weight)
        self.vocabulary = frozenset(w for passage in passages for w in passage)
        self._choices = sorted(self.vocabulary)
        self._owners = np.array(owners)
        self._weights = np.array(weights)
        self._share = tuning.article_share
        self._ceiling_words = tuning.ceiling_words
        self._ceiling_unknown = tuning.ceiling_unknown_words
        self._bm25 = bm25s.BM25()
        self._bm25.index([analyzer.stems(p) for p in passages], show_progress=False)
        whole = [words(" ".join([*a.questions, a.title, a.answer])) for a in articles]
        self._articles_bm25 = bm25s.BM25(b=tuning.article_b)
        self._articles_bm25.index([analyzer.stems(w) for w in whole], show_progress=False)
        self._unknown_idf = max(self._idf.values())
        self._char_share = tuning.char_share
        self._chars = bm25s.BM25(b=tuning.article_b)
        self._chars.index([char_grams(w) for w in whole], show_progress=False)

    @cached_property
    def _idf(self) -> dict[str, float]:
        """IDF of each stem (Lucene's formula, as bm25s scores with it)."""
        n_docs = len(self._owners)
        doc_freq = np.diff(self._bm25.scores["indptr"])
        return {
            stem: float(np.log(1 + (n_docs - doc_freq[i] + 0.5) / (doc_freq[i] + 0.5)))
            for stem, i in self._bm25.vocab_dict.items()
            if stem and i < len(doc_freq)
        }

    def query_words(self, question: str) -> list[str]:
        """The question's words in written form, compounds joined, stop words out."""
        written = normalise(question).lower()
        tokens = _join_split_compounds(_WORD.findall(written), self.vocabulary)
        return [t for t in tokens if t not in STOPWORDS]

    def query_stems(self, question: str) -> list[str]:
        repaired = []
        for token in self.query_words(question):
            repaired.extend(self.analyzer.repair(token, self.vocabulary, self._choices))
        return self.analyzer.stems(repaired)

    def unknown_words(self, question: str) -> list[str]:
        """The question's words (stems) that no article uses, after typo repair."""
        return [stem for stem in self.query_stems(question) if stem not in self._idf and not stem.isdigit()]

    def says_something(self, question: str) -> bool:
        """Whether the question has a word of its own beyond stop words and
        numbers ("og i Ballerup?" and "hun er 17" have none)."""
        return any(not stem.isdigit() for stem in self.query_stems(question))

    def char_scores(self, question: str) -> Scores:
        """Character n-gram BM25 over whole articles, relative to the best
        (1): robust to inflection, misspelling and compounds."""
        grams = [g for g in char_grams(self.query_words(question)) if g in self._chars.vocab_dict]
        scores = self._chars.get_scores(grams) if grams else np.zeros(len(self.articles))
        top = scores.max()
        relative: Scores = scores / top if top > 0 else scores
        return relative

    def scores(self, question: str, unknown_weight: float = 1.0) -> Scores:
        """Normalised score per article: the words' score (see `word_scores`),
        ranked partly by character n-grams (`char_scores`) on the same scale."""
        by_words = self.word_scores(question, unknown_weight)
        by_characters = self.char_scores(question) * by_words.max()
        ranked: Scores = (1 - self._char_share) * by_words + self._char_share * by_characters
        return ranked

    def word_scores(self, question: str, unknown_weight: float = 1.0) -> Scores:
        """Per article, the share of the question's words matched, measured
        against its most informative words (see `Tuning.ceiling_words`).

        A word no article uses counts as a miss of `unknown_weight` times the
        rarest known word.
        """
        stems = self.query_stems(question)
        known = [s for s in stems if s in self._idf]
        if not known:
            return np.zeros(len(self.articles))
        # A query word found once in a very short passage scores about
        # idf / (1 + k1 (1 - b)); dividing by that puts a full match near 1.
        best_case = 1 / (1 + self._bm25.k1 * (1 - self._bm25.b))
        informative = sorted((self._idf[s] for s in known), reverse=True)[: self._ceiling_words]
        unknown = min(len(stems) - len(known), self._ceiling_unknown) * self._unknown_idf * unknown_weight
        ceiling = (sum(informative) + unknown) * best_case
        passage_scores = self._bm25.get_scores(known) * self._weights / ceiling
        best_passage = np.zeros(len(self.articles))
        np.maximum.at(best_passage, self._owners, passage_scores)
        whole_article = self._articles_bm25.get_scores(known) / ceiling
        shares: Scores = (1 - self._share) * best_passage + self._share * whole_article
        return shares


def _uncovered(articles: list[Article]) -> tuple[Gap, ...]:
    """The gaps no article mentions (an article on one closes the gap)."""
    texts = [" ".join([*a.questions, a.title, a.answer]) for a in articles]
    return tuple(gap for gap in GAPS if not any(gap.pattern.search(text) for text in texts))


class Engine:
    """Search the knowledge base for one municipality's user."""

    def __init__(self, kb: KnowledgeBase, tuning: Tuning | None = None) -> None:
        self.kb = kb
        self.tuning = tuning or Tuning()
        analyzer = Analyzer()
        self._indexes = {
            m: MunicipalityIndex(
                [a for a in kb.articles if a.is_common or a.municipality == m],
                analyzer,
                self.tuning,
            )
            for m in Municipality
        }
        self._gaps = {m: _uncovered(index.articles) for m, index in self._indexes.items()}

    def missing_subject(self, question: str, municipality: Municipality) -> Gap | None:
        """The subject the question asks about that no article of the
        municipality's covers (bot/knowledge/gaps.py), if any."""
        return named_gap(normalise(question), self._gaps[municipality])

    def search(
        self,
        question: str,
        municipality: Municipality,
        audience: Audience | None = None,
        nlu_sure: bool = False,
        subject: Subject | None = None,
    ) -> SearchResult:
        """Rank the articles a user of `municipality` may see, and decide.

        `nlu_sure` says the NLU model is confident this is an employment
        question, which lowers the bar for answering it. `subject` searches
        a follow-up within what the conversation is about.
        """
        index = self._indexes[municipality]
        unknown = self.tuning.unknown_weight_nlu_sure if nlu_sure else 1.0
        scores = index.scores(question, unknown) if subject is None else self._within(question, index, subject, unknown)
        for n, article in enumerate(index.articles):
            if audience is not None and article.audience != BOTH_AUDIENCES:
                mine = article.audience == audience.value
                scores[n] *= self.tuning.audience_boost if mine else self.tuning.other_audience_factor
            if not article.is_common:
                scores[n] *= self.tuning.local_boost
        order = np.argsort(-scores, kind="stable")[: self.tuning.top_k]
        hits = tuple(Hit(index.articles[i], float(scores[i])) for i in order if scores[i] > 0)
        return SearchResult(hits=hits, decision=self._decide(hits, nlu_sure))

    def _within(self, question: str, index: MunicipalityIndex, subject: Subject, unknown: float) -> Scores:
        """A follow-up's scores blended with its subject's, the subject's topic
        favoured. A follow-up without words of its own, or with only a number
        ("og i Ballerup?", "hun er 17"), is the subject asked again; one whose
        words are all unknown ("hvornår kommer storskraldet?") is not about
        the subject at all."""
        own_text = _without_municipalities(question)
        about = index.scores(_without_municipalities(subject.text))
        if not index.says_something(own_text):
            scores = about
        else:
            weight = self.tuning.subject_weight
            own = index.scores(own_text, unknown)
            # Words of its own, none of them known: not about the subject.
            known = index.word_scores(own_text, unknown).any()
            scores = (own + weight * about) / (1 + weight) if known else own
        on_topic = np.array([article.topic == subject.topic for article in index.articles])
        return np.where(on_topic, scores * self.tuning.subject_topic_boost, scores)

    def names_something_new(self, question: str, municipality: Municipality) -> bool:
        """The question names something no article of the municipality's
        speaks of ("hvordan passer jeg min hund?")."""
        return bool(self._indexes[municipality].unknown_words(_without_municipalities(question)))

    def supports(self, question: str, article: Article, municipality: Municipality) -> bool:
        """Whether the question's own words match the article, or it has
        none but a municipality's name ("og i Ballerup?")."""
        index = self._indexes[municipality]
        own = _without_municipalities(question)
        return not index.says_something(own) or bool(index.word_scores(own)[index.articles.index(article)] > 0)

    def see_also(self, result: SearchResult) -> tuple[Hit, ...]:
        """The runners-up worth offering beside the answer."""
        if not result.best:
            return ()
        bar = result.best.score * self.tuning.see_also_ratio
        return tuple(hit for hit in result.hits[1:] if hit.score >= bar)[: self.tuning.see_also_max]

    def is_certain(self, result: SearchResult) -> bool:
        """The best hit stands out so clearly that no other signal is needed:
        no article on another topic comes close to it."""
        hits = result.hits
        if result.decision is not Decision.ANSWER or not hits or hits[0].score < self.tuning.certain_above:
            return False
        top = hits[0]
        others = [hit for hit in hits[1:] if hit.article.topic != top.article.topic]
        return not others or others[0].score <= top.score * self.tuning.certain_margin

    def _decide(self, hits: tuple[Hit, ...], nlu_sure: bool) -> Decision:
        tuning = self.tuning
        bar = tuning.none_below_nlu_sure if nlu_sure else tuning.none_below
        if not hits or hits[0].score < bar:
            return Decision.NONE
        top = hits[0]
        # Only a close runner-up on another topic makes the question unclear;
        # between close articles on the same topic the best one answers.
        close = [
            h for h in hits[1:3] if h.score >= top.score * tuning.close_ratio and h.article.topic != top.article.topic
        ]
        if close and top.score < tuning.sure_above:
            return Decision.CLARIFY
        return Decision.ANSWER
