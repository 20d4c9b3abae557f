"""The development sets stay out of the training data.

`make bench-kb`, `make bench-nlu` and `make bench-e2e` measure the assistant
on questions it has never seen: no development question or conversation turn
may be an NLU training example (data/) or an article's own question (the
NLU model learns those too, see data/nlu/knowledge_questions.yml).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bench.e2e import ExpectedTurn, load_conversations
from bench.kb import load_dev_set
from bot.knowledge.store import load_knowledge

ROOT = Path(__file__).resolve().parent.parent
#: One- and two-word messages ("Ballerup", "fleksjob", "personlig
#: assistance") are bound to occur in both; longer ones must not.
MIN_WORDS = 3
#: Rasa's entity annotations: [text](entity) and [text]{"entity": ...}.
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


def _plain(text: str) -> str:
    """Lower case, annotations and punctuation out, one space between words."""
    return " ".join(re.findall(r"\w+", _ANNOTATION.sub(r"\1", text).lower()))


def _training_examples() -> set[str]:
    examples: set[str] = set()
    for path in sorted((ROOT / "data").rglob("*.yml")):
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            lines = str(item.get("examples") or "").splitlines()
            examples |= {_plain(line.strip().removeprefix("- ")) for line in lines if line.strip()}
    kb = load_knowledge(ROOT / "knowledge")
    return examples | {_plain(q) for article in kb.articles for q in article.questions}


def _development_texts() -> list[str]:
    questions, out_of_scope = load_dev_set()
    turns: list[ExpectedTurn] = [t for c in load_conversations() for t in c.turns]
    return [q.text for q in [*questions, *out_of_scope]] + [t.text for t in turns]


def test_training_examples_are_read() -> None:
    examples = _training_examples()
    assert len(examples) > 1000
    assert _plain('løntilskud [Gladsaxe]{"entity": "municipality", "value": "gladsaxe"}') in examples


def test_no_development_text_is_a_training_example() -> None:
    examples = _training_examples()
    texts = [_plain(text) for text in _development_texts()]
    leaked = [text for text in texts if len(text.split()) >= MIN_WORDS and text in examples]
    assert leaked == []


def test_conversations_are_short_and_name_known_articles() -> None:
    kb = load_knowledge(ROOT / "knowledge")
    ids = {a.id for a in kb.articles}
    conversations = load_conversations()
    assert len(conversations) >= 80
    assert all(2 <= len(c.turns) <= 4 for c in conversations)
    named = {a for c in conversations for t in c.turns for a in t.answers}
    assert named <= ids
    assert all(bool(t.answers) != bool(t.kind) for c in conversations for t in c.turns)
