"""Reading a message the way a person would: is it a follow-up, and where
in a long message is the question?

People ask on after an answer with few words of their own ("hvor mange
timer om ugen?", "og hvis jeg er syg?", "gælder det også i Ballerup?").
Employers write a situation and then a question, sometimes two. These
functions only read the words; bot/dialogue/turns.py decides what to do.
"""

from __future__ import annotations

import re

from bot.nlu.spelling import normalise

#: A message of at most this many words may lean on the conversation.
FOLLOW_UP_MAX_WORDS = 9
#: A message of at least this many words, in two or more sentences, is read
#: for the question in it.
LONG_MIN_WORDS = 25

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
#: How a follow-up opens ("og hvis ...", "hvad med ...").
_FOLLOW_UP_OPENER = re.compile(r"^(?:og|men|eller|så|også)\b|^hvad (?:med|så|hvis)\b|^hvis\b", re.IGNORECASE)
#: Words that point back to what was just said ("det", "den").
_POINTS_BACK = re.compile(r"\b(?:det|den|dem|dette|denne|disse|dét|sådan(?:ne)?|samme|også)\b", re.IGNORECASE)
_QUESTION_WORD = re.compile(r"\b(?:hvad|hvordan|hvornår|hvorfor|hvem|hvilke[nt]?|hvor)\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
#: How a Danish question starts: a question word, or a verb first.
_QUESTION_START = re.compile(
    r"^(?:og |men |så )?(?:hvad|hvordan|hvornår|hvor|hvem|hvilke[nt]?|hvorfor|hvis|kan|kunne|må|skal|skulle|"
    r"vil|får|findes|gælder|er|har|bliver|betaler|hjælper|tilbyder|ved)\b",
    re.IGNORECASE,
)


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def is_follow_up(text: str) -> bool:
    """A short message that may lean on what the conversation is about; one
    that opens as a follow-up ("og hvis vi er en butik, ...") may be longer."""
    words = word_count(text)
    opens = bool(_FOLLOW_UP_OPENER.match(normalise(text).strip()))
    return 0 < words <= FOLLOW_UP_MAX_WORDS or (opens and words <= 2 * FOLLOW_UP_MAX_WORDS)


def refers_back(text: str) -> bool:
    """The message points back to what was just said ("hvad skal jeg gøre for at få det?")."""
    written = normalise(text).strip()
    return bool(_FOLLOW_UP_OPENER.match(written) or _POINTS_BACK.search(written))


#: A search phrase has at most this many words ("klage over afgørelse").
SEARCH_MAX_WORDS = 4
_FIRST_PERSON = re.compile(r"\b(?:jeg|mig|min|mit|mine|vi|os|vores)\b", re.IGNORECASE)


def is_search_phrase(text: str) -> bool:
    """A few words typed as into a search box, about nobody in particular."""
    written = normalise(text)
    return 0 < word_count(written) <= SEARCH_MAX_WORDS and not _FIRST_PERSON.search(written)


def sentences(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE_END.split(text.strip()) if part.strip()]


def is_question(sentence: str) -> bool:
    """A question mark, a clause that starts as a question ("jeg har fået
    fleksjob, hvor længe gælder det"), or a question word anywhere ("jeg er
    uenig i en afgørelse hvordan klager jeg")."""
    written = normalise(sentence)
    clauses = re.split(r"[,;:]", written)
    asks = sentence.rstrip().endswith("?") or bool(_QUESTION_WORD.search(written))
    return asks or any(_QUESTION_START.match(c.strip()) for c in clauses)


def questions_in(text: str) -> list[str]:
    """The questions in a long message, in order; [] for a short one or one
    without a recognisable question (read it whole)."""
    parts = sentences(text)
    if word_count(text) < LONG_MIN_WORDS or len(parts) < 2:
        return []
    return [part for part in parts if is_question(part)]
