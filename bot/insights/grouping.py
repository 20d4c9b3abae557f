"""Unanswered questions grouped so that near-duplicates sit together.

Each question becomes a key the way the knowledge engine reads a question:
its words without stop words (bot.knowledge.engine.words), stemmed with the
engine's Danish Snowball stemmer (Analyzer.stems), each stem once, sorted,
with municipality names and the masks of personal data left out ("Hvad er et fleksjob i Gladsaxe?" and
"hvad er fleksjob" share the key "fleksjob"). Questions are taken most
frequent first; one joins the first group whose key is at least SIMILAR
alike by rapidfuzz's token_sort_ratio (so a typo in one word, "flexjob",
or the words in another order still match), else it starts a group. A
group is shown as its most frequent wording, with its count and the other
wordings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz, process

from bot.knowledge.engine import Analyzer, words
from bot.privacy import CPR_MASK, EMAIL_MASK, PHONE_MASK
from bot.taxonomy import Audience, Municipality, municipality_spans

#: How alike two keys must be (0-100) for their questions to share a group.
SIMILAR = 85
MASKS = (CPR_MASK, PHONE_MASK, EMAIL_MASK)


@dataclass(frozen=True)
class Asked:
    """One unanswered question, as the turn record keeps it."""

    text: str
    municipality: Municipality | None = None
    audience: Audience | None = None


@dataclass
class Group:
    key: str
    wordings: Counter[str] = field(default_factory=Counter)
    municipalities: Counter[Municipality | None] = field(default_factory=Counter)
    audiences: Counter[Audience | None] = field(default_factory=Counter)

    @property
    def count(self) -> int:
        return sum(self.wordings.values())

    @property
    def text(self) -> str:
        """The most frequent wording (the first of equals in alphabetical order)."""
        return min(self.wordings, key=lambda wording: (-self.wordings[wording], wording))

    @property
    def variants(self) -> list[str]:
        return sorted((w for w in self.wordings if w != self.text), key=lambda w: (-self.wordings[w], w))

    @property
    def municipality(self) -> Municipality | None:
        return self.municipalities.most_common(1)[0][0]

    @property
    def audience(self) -> Audience | None:
        return self.audiences.most_common(1)[0][0]


@lru_cache(maxsize=1)
def _analyzer() -> Analyzer:
    return Analyzer()


def question_key(text: str) -> str:
    """The question's distinct stems, sorted, without municipality names or masks."""
    for mask in MASKS:
        text = text.replace(mask, " ")
    for start, end, _ in reversed(municipality_spans(text)):
        text = f"{text[:start]} {text[end:]}"
    stems = sorted(set(_analyzer().stems(words(text))))
    return " ".join(stems) or " ".join(text.lower().split())


def group_questions(asked: Iterable[Asked]) -> list[Group]:
    """Group near-duplicate questions; the largest group first."""
    seen: Counter[Asked] = Counter(Asked(" ".join(a.text.split()), a.municipality, a.audience) for a in asked)
    wordings: Counter[str] = Counter()
    for question, count in seen.items():
        wordings[question.text] += count
    groups: list[Group] = []
    keys: list[str] = []
    by_wording: dict[str, Group] = {}
    for wording, _ in sorted(wordings.items(), key=lambda item: (-item[1], item[0])):
        key = question_key(wording)
        match = process.extractOne(key, keys, scorer=fuzz.token_sort_ratio, score_cutoff=SIMILAR)
        if match is None:
            keys.append(key)
            groups.append(Group(key))
        by_wording[wording] = groups[match[2] if match else -1]
    for question, count in seen.items():
        group = by_wording[question.text]
        group.wordings[question.text] += count
        group.municipalities[question.municipality] += count
        group.audiences[question.audience] += count
    return sorted(groups, key=lambda group: (-group.count, group.text))
