"""The NLU examples generated from the knowledge base (bot.nlu.knowledge_questions)."""

from __future__ import annotations

import yaml

from bot.knowledge.store import load_knowledge
from bot.nlu import knowledge_questions as kq
from bot.settings import get_settings


def test_the_committed_file_matches_the_knowledge_base():
    assert kq.main(["--check"]) == 0, "run: python -m bot.nlu.knowledge_questions"


def test_municipality_names_are_marked_as_the_entity():
    assert kq.annotate("løntilskud i Rødovre og rodovre") == (
        'løntilskud i [Rødovre]{"entity": "municipality", "value": "rodovre"} og '
        '[rodovre]{"entity": "municipality", "value": "rodovre"}'
    )
    assert kq.annotate("hvad er et fleksjob") == "hvad er et fleksjob"


def test_complaint_and_crisis_wording_and_known_examples_are_left_out():
    kb = load_knowledge(get_settings().knowledge_dir)
    generated = kq.examples(kb, {"hvad er et fleksjob"})
    plain = {kq.plain(line) for line in generated}
    assert "hvad er et fleksjob" not in plain
    assert "jeg har tanker om selvmord" not in plain
    assert "jeg kan ikke mere" not in plain, "the crisis article is left out whole"
    assert not any("klage" in line for line in plain)
    assert len(plain) == len(generated), "no question twice"


def test_no_generated_example_repeats_a_hand_written_one():
    data = yaml.safe_load(kq.OUTPUT.read_text(encoding="utf-8"))
    generated = {kq.plain(line[2:]) for line in data["nlu"][0]["examples"].splitlines()}
    assert not generated & kq.hand_written_examples(kq.OUTPUT.parent)
