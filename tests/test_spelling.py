"""Everyday Danish written out (bot/nlu/spelling.py), and the table stays a
table of words: no development question is in it."""

from __future__ import annotations

import pytest

from bench.e2e import load_conversations
from bench.kb import load_dev_set
from bot.nlu.spelling import SPOKEN, normalise, normalise_words, written_lower


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ("ka ja få løntilskud", "kan jeg få løntilskud"),
        ("hva sker der hvis ja ik møder op", "hvad sker der hvis jeg ikke møder op"),
        ("ja er ordblind", "jeg er ordblind"),
        ("har vært ledig i 2 mdr", "har været ledig i 2 måneder"),
        ("hva er flexjob", "hvad er fleksjob"),
        ("hva er førtidspention", "hvad er førtidspension"),
        ("tlf nr til jobcentret", "telefon nummer til jobcentret"),
        ("Hvordan søger jeg fleksjob?", "Hvordan søger jeg fleksjob?"),
    ],
)
def test_spoken_spellings_are_written_out(typed: str, written: str) -> None:
    assert normalise(typed) == written


@pytest.mark.parametrize("text", ["ja", "Ja tak", "ja, det vil jeg gerne", "ja. hvad så nu"])
def test_a_plain_yes_stays_a_yes(text: str) -> None:
    assert normalise(text) == text


def test_words_keep_their_count_and_case_when_unchanged() -> None:
    words = ["Ka", "ja", "få", "Fleksjob", "i", "Gladsaxe"]
    assert normalise_words(words) == ["kan", "jeg", "få", "Fleksjob", "i", "Gladsaxe"]


def test_the_intent_model_reads_the_written_form_in_lower_case() -> None:
    assert written_lower("Hva er FLEXJOB") == "hvad er fleksjob"


def test_the_table_holds_single_words_and_no_development_question() -> None:
    assert all(" " not in spoken and " " not in written for spoken, written in SPOKEN.items())
    questions, out_of_scope = load_dev_set()
    texts = {q.text.lower() for q in [*questions, *out_of_scope]}
    texts |= {t.text.lower() for c in load_conversations() for t in c.turns}
    assert not texts & {*SPOKEN, *SPOKEN.values()}
