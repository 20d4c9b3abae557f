"""Recognising the user's municipality in what they write."""

from __future__ import annotations

import pytest

from bot.taxonomy import (
    OTHER_MUNICIPALITIES,
    Municipality,
    find_municipality,
    find_other_municipality,
    parse_municipality,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jeg bor i Ballerup", Municipality.BALLERUP),
        ("jeg bor i gladsaxe kommune", Municipality.GLADSAXE),
        ("Vi er en virksomhed i Rødovre.", Municipality.RODOVRE),
        ("RUDERSDAL", Municipality.RUDERSDAL),
        ("fleksjob i rødovre?", Municipality.RODOVRE),
    ],
)
def test_find_municipality_finds_the_name_in_a_sentence(text: str, expected: Municipality) -> None:
    assert find_municipality(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jeg bor i balerup", Municipality.BALLERUP),
        ("Ballerrup", Municipality.BALLERUP),
        ("Gladsakse", Municipality.GLADSAXE),
        ("gladaxe", Municipality.GLADSAXE),
        ("rodovre", Municipality.RODOVRE),
        ("Roedovre", Municipality.RODOVRE),
        ("rødore", Municipality.RODOVRE),
        ("rudesdal", Municipality.RUDERSDAL),
        ("ruderdal", Municipality.RUDERSDAL),
    ],
)
def test_find_municipality_accepts_common_misspellings(text: str, expected: Municipality) -> None:
    assert find_municipality(text) is expected


@pytest.mark.parametrize(
    "text",
    [
        "Jeg bor på Rødovrevej",
        "rødovrevej 12",
        "Ballerupvej 3",
        "Gladsaxevej",
        "Jeg bor i København",
        "Hvad er et fleksjob?",
        "",
    ],
)
def test_find_municipality_ignores_street_names_and_other_places(text: str) -> None:
    assert find_municipality(text) is None


def test_find_municipality_returns_the_first_name_mentioned() -> None:
    assert find_municipality("Jeg bor i Rødovre men arbejder i Ballerup") is Municipality.RODOVRE


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ballerup", Municipality.BALLERUP),
        ("gladsaxe", Municipality.GLADSAXE),
        ("rodovre", Municipality.RODOVRE),
        ("rudersdal", Municipality.RUDERSDAL),
        ("Rødovre", Municipality.RODOVRE),
        ("  Gladsakse ", Municipality.GLADSAXE),
    ],
)
def test_parse_municipality_accepts_ids_and_names(value: str, expected: Municipality) -> None:
    assert parse_municipality(value) is expected


@pytest.mark.parametrize("value", ["", "rødovrevej", "jeg bor i Rødovre", "københavn", "alle"])
def test_parse_municipality_rejects_anything_but_a_whole_name(value: str) -> None:
    assert parse_municipality(value) is None


def test_every_municipality_id_parses_to_itself() -> None:
    assert [parse_municipality(m.value) for m in Municipality] == list(Municipality)


def test_denmark_has_94_other_municipalities() -> None:
    assert len(set(OTHER_MUNICIPALITIES)) == 98 - len(Municipality)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hvidovre", "Hvidovre Kommune"),
        ("jeg bor i København", "Københavns Kommune"),
        ("vi holder til i kbh", "Københavns Kommune"),
        ("århus", "Aarhus Kommune"),
        ("Høje Taastrup", "Høje-Taastrup Kommune"),
        ("taarnby", "Tårnby Kommune"),
        ("jeg bor på Bornholm", "Bornholms Regionskommune"),
        ("Vejen Kommune", "Vejen Kommune"),
    ],
)
def test_find_other_municipality_names_it_officially(text: str, expected: str) -> None:
    assert find_other_municipality(text) == expected


@pytest.mark.parametrize(
    "text", ["Ballerup", "jeg bor i rødovre", "jeg er på vej hele vejen", "en skive brød", "hvad er et fleksjob"]
)
def test_find_other_municipality_ignores_our_four_and_everyday_words(text: str) -> None:
    assert find_other_municipality(text) is None


def test_the_municipality_choices_name_every_municipality_once():
    from bot.taxonomy import MUNICIPALITY_CHOICES

    assert MUNICIPALITY_CHOICES == "Ballerup, Gladsaxe, Rødovre eller Rudersdal"
    assert all(MUNICIPALITY_CHOICES.count(m.label) == 1 for m in Municipality)
