"""The NLU examples generated from the knowledge base (bot.knowledge.nlu_examples)."""

from __future__ import annotations

import pytest
import yaml

from bot.knowledge import nlu_examples
from bot.knowledge.store import KnowledgeBase, load_knowledge
from bot.settings import get_settings


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge(get_settings().knowledge_dir)


def test_the_committed_file_matches_the_knowledge_base(kb: KnowledgeBase) -> None:
    assert not nlu_examples.is_stale(kb), "run: python -m bot.knowledge nlu-examples"


def test_a_changed_file_is_stale(kb: KnowledgeBase, tmp_path) -> None:
    copy = tmp_path / nlu_examples.OUTPUT.name
    copy.write_text(nlu_examples.OUTPUT.read_text(encoding="utf-8") + "      - hvad er en kartoffel\n")
    assert nlu_examples.is_stale(kb, copy)


def test_municipality_names_are_marked_as_the_entity() -> None:
    assert nlu_examples.annotate("løntilskud i Rødovre og rodovre") == (
        'løntilskud i [Rødovre]{"entity": "municipality", "value": "rodovre"} og '
        '[rodovre]{"entity": "municipality", "value": "rodovre"}'
    )
    assert nlu_examples.annotate("hvad er et fleksjob") == "hvad er et fleksjob"


def test_complaint_and_crisis_wording_and_known_examples_are_left_out(kb: KnowledgeBase) -> None:
    generated = nlu_examples.examples(kb, {"hvad er et fleksjob"})
    plain = {nlu_examples.plain(line) for line in generated}
    assert "hvad er et fleksjob" not in plain
    assert "jeg har tanker om selvmord" not in plain
    assert "jeg kan ikke mere" not in plain, "the crisis article is left out whole"
    assert not any("klage" in line for line in plain)
    assert len(plain) == len(generated), "no question twice"


def test_no_generated_example_repeats_a_hand_written_one() -> None:
    data = yaml.safe_load(nlu_examples.OUTPUT.read_text(encoding="utf-8"))
    generated = {nlu_examples.plain(line[2:]) for line in data["nlu"][0]["examples"].splitlines()}
    assert generated and not generated & nlu_examples.hand_written_examples()
