"""The vocabulary behind the NLU's unknown-words check (bot.nlu.vocabulary)."""

from __future__ import annotations

import pytest

from bot.nlu.vocabulary import Vocabulary, words

VOCABULARY = Vocabulary.from_texts(
    ["Hvad er et fleksjob?", "Jeg vil gerne have løntilskud", "ja tak", "Rødovre"], stems=["job", "mentor", "ab"]
)


def test_words_are_lowercase_letters_only():
    assert words("Fleksjob i Rødovre? 12 timer!") == ["fleksjob", "i", "rødovre", "timer"]


@pytest.mark.parametrize("text", ["qwxy zqw", "sksksk", "brmpf klopf", "ØØØ"])
def test_a_message_of_only_unknown_words_is_unknown(text):
    assert VOCABULARY.is_unknown(text)


@pytest.mark.parametrize(
    "text",
    [
        "ja",
        "JA TAK",
        "fleksjb",  # one letter missing
        "lønntilskud",  # one letter too many
        "qwxy fleksjob",  # one known word is enough
        "rødovre",
        "jobklub",  # a lookup stem inside the word
        "mentorstøtte",
    ],
)
def test_a_message_with_a_known_or_misspelt_word_is_known(text):
    assert not VOCABULARY.is_unknown(text)


@pytest.mark.parametrize("text", ["", "?", "12345678", "👍"])
def test_a_message_without_words_is_left_to_the_model(text):
    assert not VOCABULARY.is_unknown(text)


def test_short_words_must_match_exactly():
    assert not VOCABULARY.knows("tk")
    assert VOCABULARY.knows("tak")


def test_very_short_stems_are_ignored():
    assert VOCABULARY.is_unknown("abcabc")
