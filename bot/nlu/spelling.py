"""Everyday Danish as people type it, in the spelling the assistant knows.

People write as they speak ("ka ja få flexjob", "hva sker der hvis ja ik
møder op") and in short forms ("tlf nr", "2 mdr"). The knowledge engine
repairs long misspelt words by itself (bot/knowledge/engine.py), but short
words are too close to other words for a fuzzy match, and a spoken "ja"
means "jeg" only beside a verb. This table turns such words into the
written form before retrieval and intent classification. It is built from
the spellings in the development sets' misses (bench/data/), one general
word per entry and never a whole question, so that a reviewer can read it
at a glance. Plain Python: Rasa's environment (the NLU tokenizer) and ours
(the knowledge engine, the dialogue) both use it.
"""

from __future__ import annotations

import re

#: Spoken or short spellings of whole words.
SPOKEN: dict[str, str] = {
    "hva": "hvad",
    "ka": "kan",
    "ku": "kunne",
    "sku": "skulle",
    "ska": "skal",
    "ik": "ikke",
    "ikk": "ikke",
    "ha": "have",
    "vær": "være",
    "vært": "været",
    "sån": "sådan",
    "sådn": "sådan",
    "nogn": "nogen",
    "noen": "nogen",
    "osse": "også",
    "ogs": "også",
    "gern": "gerne",
    "mæ": "mig",
    "dæ": "dig",
    "ma": "man",
    "sta": "stå",
    "stres": "stress",
    "tlf": "telefon",
    "nr": "nummer",
    "mdr": "måneder",
    "mnd": "måned",
    "akasse": "a-kasse",
}
#: Misspelt parts of words, wherever they occur ("flexjob", "førtidspention").
_PARTS = (("flex", "fleks"), ("handikap", "handicap"), ("handicab", "handicap"), ("pention", "pension"))
#: A spoken "ja" is "jeg" next to one of these words ("ka ja", "ja er").
_VERBS = frozenset(
    (
        *("er", "var", "har", "kan", "ka", "vil", "skal", "ska", "må", "får", "fik", "blev", "bor", "søger"),
        *("mangler", "ved", "tror", "synes", "gør", "kunne", "ku", "skulle", "sku"),
        *("hvad", "hva", "hvis", "når", "hvordan", "hvor", "hvorfor"),
    )
)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def _word(word: str) -> str:
    lower = word.lower()
    fixed = SPOKEN.get(lower, lower)
    for wrong, right in _PARTS:
        fixed = fixed.replace(wrong, right)
    return word if fixed == lower else fixed


def normalise_words(words: list[str]) -> list[str]:
    """The written form of each word; "ja" becomes "jeg" beside a verb."""
    fixed = [_word(word) for word in words]
    lower = [word.lower() for word in words]
    for n, word in enumerate(lower):
        neighbours = {lower[i] for i in (n - 1, n + 1) if 0 <= i < len(lower)}
        if word == "ja" and neighbours & _VERBS:
            fixed[n] = "jeg"
    return fixed


def normalise(text: str) -> str:
    """The text with every spoken spelling written out; the rest unchanged.

    A "ja" followed by a comma or full stop is the answer "ja", never "jeg"
    ("ja, det vil jeg gerne"), so only words in the same clause are neighbours.
    """
    clauses = re.split(r"([,.;:!?\n]+)", text)
    return "".join(_normalise_clause(clause) for clause in clauses)


def _normalise_clause(clause: str) -> str:
    spans = [(m.start(), m.end()) for m in _WORD.finditer(clause)]
    fixed = normalise_words([clause[start:end] for start, end in spans])
    out, last = [], 0
    for (start, end), word in zip(spans, fixed, strict=True):
        out += [clause[last:start], word]
        last = end
    return "".join([*out, clause[last:]])


def written_lower(text: str) -> str:
    """The written form in lower case (the intent model's preprocessor)."""
    return normalise(text).lower()
