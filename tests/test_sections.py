"""The section parser: every policy splits into unique, citable sections."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from bot.knowledge.schema import Source
from bot.knowledge.sections import CONTACT_HEADING, Section, parse_sections, section_at
from bot.knowledge.store import SOURCES_DIR, load_source_index

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"
SOURCES = load_source_index(KNOWLEDGE).sources


def _text(source: Source) -> str:
    return (KNOWLEDGE / SOURCES_DIR / source.file).read_text(encoding="utf-8")


def _source(source_id: str) -> Source:
    return next(s for s in SOURCES if s.id == source_id)


def _section(source_id: str, heading: str) -> str:
    text = _text(_source(source_id))
    section = next(s for s in parse_sections(text) if s.heading == heading)
    return text[section.start : section.end]


@pytest.fixture(params=SOURCES, ids=lambda s: s.id)
def source(request: pytest.FixtureRequest) -> Source:
    return request.param


def test_sections_cover_the_whole_text_without_gaps(source: Source) -> None:
    text = _text(source)
    sections = parse_sections(text)
    assert sections[0].start == 0
    assert sections[-1].end == len(text)
    assert all(before.end == after.start for before, after in pairwise(sections))
    assert all(s.start < s.end for s in sections)


def test_section_headings_are_unique(source: Source) -> None:
    headings = [s.heading for s in parse_sections(_text(source))]
    assert len(headings) == len(set(headings))


def test_recorded_section_index_matches_the_parser(source: Source) -> None:
    recorded = [(s.heading, s.start, s.end) for s in source.sections]
    assert recorded == [(s.heading, s.start, s.end) for s in parse_sections(_text(source))]


def test_gladsaxe_contact_block_is_the_section_kontaktoplysninger() -> None:
    contact = _section("gladsaxe-beskaeftigelsesplan-2022", CONTACT_HEADING)
    assert "Telefon: 39 57 66 20" in contact
    assert "jobcenter@gladsaxe.dk" in contact


def test_rodovre_plan_section_starts_at_the_heading_not_the_table_of_contents() -> None:
    section = _section("rodovre-beskaeftigelsesplan-2021-2022", "Flere ledige skal opkvalificeres")
    assert section.startswith("Flere ledige skal opkvalificeres\n")
    assert "....." not in section


@pytest.mark.parametrize(
    ("source_id", "heading"),
    [
        ("rudersdal-beskaeftigelsespolitik", "Virksomhederne"),
        ("rodovre-arbejdsmarkedspolitik-2003", "Sociale klausuler"),
        ("ballerup-beskaeftigelsesstrategi", "Principper for beskæftigelsesindsatsen i Ballerup Kommune"),
        ("national-kontekst", "Fleksjob"),
    ],
)
def test_known_headings_are_sections(source_id: str, heading: str) -> None:
    assert heading in [s.heading for s in parse_sections(_text(_source(source_id)))]


SYNTHETIC = """Vejledning om job

Indhold

Første afsnit.....\t2

Anden del\t3

Første afsnit

Borgere skal have hjælp til

at finde et job, der passer.

Strategi

Tekst om strategien i første afsnit.

## Anden del

- Et punkt i en liste

Strategi

Mere tekst om strategien.

Jobcenter Eksempel
Eksempelvej 1, 2860 Søborg
Telefon: 12 34 56 78
Mail: job@eksempel.dk
"""


def test_synthetic_document_splits_into_its_real_headings() -> None:
    headings = [s.heading for s in parse_sections(SYNTHETIC)]
    assert headings == ["Vejledning om job", "Indhold", "Første afsnit", "Anden del", CONTACT_HEADING]


def test_table_of_contents_lines_are_not_headings() -> None:
    indhold = next(s for s in parse_sections(SYNTHETIC) if s.heading == "Indhold")
    assert "Første afsnit.....\t2" in SYNTHETIC[indhold.start : indhold.end]


def test_a_sentence_broken_across_lines_is_not_a_heading() -> None:
    headings = [s.heading for s in parse_sections(SYNTHETIC)]
    assert "Borgere skal have hjælp til" not in headings


def test_a_repeated_sub_heading_stays_inside_its_section() -> None:
    sections = parse_sections(SYNTHETIC)
    assert "Strategi" not in [s.heading for s in sections]
    first = next(s for s in sections if s.heading == "Første afsnit")
    assert "Tekst om strategien i første afsnit." in SYNTHETIC[first.start : first.end]


def test_markdown_heading_marks_are_stripped() -> None:
    second = next(s for s in parse_sections(SYNTHETIC) if s.heading == "Anden del")
    assert SYNTHETIC[second.start :].startswith("## Anden del")


def test_contact_block_becomes_the_contact_section() -> None:
    contact = parse_sections(SYNTHETIC)[-1]
    assert contact.heading == CONTACT_HEADING
    assert SYNTHETIC[contact.start : contact.end].startswith("Jobcenter Eksempel\n")


def test_text_before_the_first_heading_is_the_front_page() -> None:
    sections = parse_sections("Kommunens politik 2022, side 1.\n\nIndledning\n\nTekst.\n")
    assert [s.heading for s in sections] == ["Forside", "Indledning"]


def test_text_without_headings_is_one_section() -> None:
    text = "bare en lang sætning uden overskrifter.\n"
    assert parse_sections(text) == [Section("Hele dokumentet", 0, len(text))]


def test_section_at_finds_the_section_of_a_position() -> None:
    sections = parse_sections(SYNTHETIC)
    position = SYNTHETIC.index("Mere tekst om strategien")
    assert section_at(sections, position).heading == "Anden del"
    with pytest.raises(ValueError):
        section_at(sections, len(SYNTHETIC))
