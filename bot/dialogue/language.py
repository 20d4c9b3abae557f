"""Recognise a user who says they have little Danish, or writes in English.

The knowledge base is in Danish only. When the assistant cannot help, such a
user should not be asked to "write it another way": they hear that short,
simple words are fine and are offered a caseworker at once. A message in
English is answered in English: the assistant answers in Danish, and a
caseworker can help.
"""

from __future__ import annotations

import re

_LITTLE_DANISH = re.compile(
    r"\b(?:kan|taler|forstår|skriver|læser)\s+(?:ikke|kun\s+lidt|lidt|dårligt)\s+"
    r"(?:(?:tale|skrive|læse|forstå)\s+)?(?:(?:så\s+)?godt\s+|særlig\s+godt\s+|meget\s+)?dansk\b"
    r"|\bikke\s+(?:så\s+|særlig\s+|specielt\s+)?god\s+til\s+dansk"
    r"|\bmit\s+dansk\s+er\s+(?:ikke\s+(?:så\s+|særlig\s+)?godt|dårligt)"
    r"|\bdårlige?t?\s+dansk\b"
    r"|\b(?:don'?t|do\s+not|can'?t|cannot)\s+(?:speak|read|write|understand)\s+danish"
    r"|\bspeak\s+english\b|\bin\s+english\b|\benglish\s+please\b",
    re.IGNORECASE,
)


def says_little_danish(text: str) -> bool:
    """True when the user says they have little Danish ("jeg taler ikke så godt dansk")."""
    return bool(_LITTLE_DANISH.search(text))


#: Common English words that are not also Danish words ("i", "me", "hi" are
#: left out: "i Ballerup", "ring til me", "hi hi").
_ENGLISH = frozenset(
    (
        *("the", "and", "is", "are", "am", "was", "you", "your", "my", "to", "of", "for", "with", "what"),
        *("where", "when", "how", "who", "why", "can", "could", "would", "should", "do", "does", "did"),
        *("have", "has", "get", "help", "please", "this", "that", "it", "there", "job", "work", "need"),
        *("want", "like", "speak", "english", "hello", "thanks", "thank", "from", "about", "someone", "call"),
        *("lost", "find", "benefits", "unemployed", "not", "don't", "can't", "i'm", "be", "will", "which"),
    )
)
#: Common Danish words, to tell a Danish message with an English word apart.
_DANISH = frozenset(
    (
        *("og", "er", "jeg", "du", "det", "at", "en", "et", "til", "på", "med", "har", "kan", "hvad", "hvordan"),
        *("ikke", "min", "mit", "mine", "der", "som", "af", "om", "vi", "hvor", "hvornår", "hvem", "skal", "vil"),
        *("få", "får", "mig", "den", "de", "hej", "tak", "ja", "nej", "jobcenter", "kommunen"),
    )
)
_TOKEN = re.compile(r"[a-zæøå']+", re.IGNORECASE)
#: English words needed, and how many more than Danish ones.
ENGLISH_MIN_WORDS = 2


def is_english(text: str) -> bool:
    """True when the message is written in English ("Can you help me find a job?")."""
    tokens = [token.lower() for token in _TOKEN.findall(text)]
    english = sum(token in _ENGLISH for token in tokens)
    danish = sum(token in _DANISH for token in tokens)
    return english >= ENGLISH_MIN_WORDS and english > 2 * danish
