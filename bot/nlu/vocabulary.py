"""Recognise a message made only of words the assistant has never seen.

Keyboard mashes ("qwxy zqw", "sksksk") have no features the NLU model
learned from, yet the intent classifiers still name an intent for them,
DIET often with high confidence. This vocabulary of the training data tells such a message apart:
when none of its words is known, not even as a near spelling, the message is
not understood. Lookup-table entries are stems matched inside words, as the
RegexFeaturizer matches them ("job" makes "jobklub" known). Plain Python, so
it is tested without Rasa.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rapidfuzz import fuzz, process

#: A word is a run of letters (digits and signs are never gibberish on
#: their own: phone numbers, dates, "?").
WORD = re.compile(r"[^\W\d_]+")
#: Words shorter than this must be known exactly; longer ones may be
#: misspelt ("fleksjb" is "fleksjob").
FUZZY_MIN_LENGTH = 4
#: rapidfuzz ratio (0-100) from which a misspelling counts as the word.
FUZZY_MIN_SCORE = 80
#: Shorter stems would make too many random letter strings known.
STEM_MIN_LENGTH = 3


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


class Vocabulary:
    """The words of the training data, and stems that may sit inside a word."""

    def __init__(self, known: Iterable[str], stems: Iterable[str] = ()) -> None:
        self.words = frozenset(known)
        self.stems = frozenset(stems)
        self._fuzzy = sorted(w for w in self.words if len(w) >= FUZZY_MIN_LENGTH)

    @classmethod
    def from_texts(cls, texts: Iterable[str], stems: Iterable[str] = ()) -> Vocabulary:
        known_stems = (word for stem in stems for word in words(stem) if len(word) >= STEM_MIN_LENGTH)
        return cls((word for text in texts for word in words(text)), known_stems)

    def knows(self, word: str) -> bool:
        if word in self.words or any(stem in word for stem in self.stems):
            return True
        if len(word) < FUZZY_MIN_LENGTH:
            return False
        return process.extractOne(word, self._fuzzy, scorer=fuzz.ratio, score_cutoff=FUZZY_MIN_SCORE) is not None

    def is_unknown(self, text: str) -> bool:
        """True when the text has words and the vocabulary knows none of them."""
        found = words(text)
        return bool(found) and not any(self.knows(word) for word in found)
