"""The knowledge-base validator catches every rule a curator can break.

Each test breaks one rule in a copy of knowledge/ and checks that validate()
names the problem; the real knowledge base must have none.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.knowledge import reform
from bot.knowledge.reform import ReformTerm, Stage
from bot.knowledge.validate import validate

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"

Articles = list[dict[str, Any]]


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, copy)
    return copy


def edit_articles(directory: Path, relative: str, change: Callable[[Articles], None]) -> None:
    """Load an article file of the copy, change its list of articles, write it back."""
    path = directory / "articles" / relative
    articles = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(articles)
    path.write_text(yaml.safe_dump(articles, allow_unicode=True, sort_keys=False), encoding="utf-8")


def edit_first(directory: Path, relative: str, change: Callable[[dict[str, Any]], None]) -> str:
    """Change the first article of a file; return its id."""
    edit_articles(directory, relative, lambda articles: change(articles[0]))
    path = directory / "articles" / relative
    return yaml.safe_load(path.read_text(encoding="utf-8"))[0]["id"]


def edit_article(directory: Path, relative: str, article_id: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Change the article with this id in a file of the copy."""

    def change_one(articles: Articles) -> None:
        [article] = [a for a in articles if a["id"] == article_id]
        change(article)

    edit_articles(directory, relative, change_one)


def has_error(errors: list[str], *fragments: str) -> bool:
    return any(all(fragment in error for fragment in fragments) for error in errors)


GLADSAXE_FLEKSJOB = "gladsaxe/fleksjob.yml"


def test_real_knowledge_base_has_no_errors() -> None:
    assert validate(KNOWLEDGE) == []


def test_unchanged_copy_has_no_errors(kb_copy: Path) -> None:
    edit_first(kb_copy, GLADSAXE_FLEKSJOB, lambda article: None)
    assert validate(kb_copy) == []


def test_made_up_quote(kb_copy: Path) -> None:
    def invent(article: dict[str, Any]) -> None:
        article["citations"][0]["quote"] = "Alle ledige i Gladsaxe får en gratis cykel."

    article_id = edit_first(kb_copy, GLADSAXE_FLEKSJOB, invent)
    errors = validate(kb_copy)
    assert has_error(errors, article_id, "quote is not verbatim")
    assert not has_error(errors, "in another section")


def test_quote_from_another_section(kb_copy: Path) -> None:
    def misplace(article: dict[str, Any]) -> None:
        article["citations"][0]["section"] = "Vision"

    article_id = edit_first(kb_copy, GLADSAXE_FLEKSJOB, misplace)
    assert has_error(validate(kb_copy), article_id, "quote is not verbatim", "«Vision»", "(it is in another section)")


def test_unknown_section(kb_copy: Path) -> None:
    def rename(article: dict[str, Any]) -> None:
        article["citations"][0]["section"] = "Et afsnit der ikke findes"

    article_id = edit_first(kb_copy, GLADSAXE_FLEKSJOB, rename)
    assert has_error(validate(kb_copy), article_id, "has no section 'Et afsnit der ikke findes'")


def test_unknown_source(kb_copy: Path) -> None:
    def rename(article: dict[str, Any]) -> None:
        article["citations"][0]["source"] = "gladsaxe-plan-1999"

    article_id = edit_first(kb_copy, GLADSAXE_FLEKSJOB, rename)
    assert has_error(validate(kb_copy), article_id, "unknown source 'gladsaxe-plan-1999'")


def test_number_in_answer_not_in_cited_section(kb_copy: Path) -> None:
    def add_number(article: dict[str, Any]) -> None:
        article["answer"] += " Du kan få op til 9876 kr. om måneden."

    article_id = edit_first(kb_copy, GLADSAXE_FLEKSJOB, add_number)
    assert has_error(validate(kb_copy), article_id, "the number '9876'", "not in any cited section")


def test_email_in_answer_not_in_cited_section(kb_copy: Path) -> None:
    def add_email(article: dict[str, Any]) -> None:
        article["answer"] += " Skriv til fleksjob@gladsaxe.dk."

    article_id = edit_first(kb_copy, GLADSAXE_FLEKSJOB, add_email)
    assert has_error(validate(kb_copy), article_id, "the e-mail 'fleksjob@gladsaxe.dk")


def test_quote_from_a_sentence_marked_unconfirmed(kb_copy: Path) -> None:
    def cite_unconfirmed(article: dict[str, Any]) -> None:
        article["citations"][0] = {
            "source": "national-kontekst",
            "section": "The reform that dates the policies",
            "quote": "Which of these took effect on 1 February",
        }

    article_id = edit_first(kb_copy, GLADSAXE_FLEKSJOB, cite_unconfirmed)
    assert has_error(validate(kb_copy), article_id, "marked UNCONFIRMED")


def test_same_question_in_two_articles_of_one_municipality(kb_copy: Path) -> None:
    def copy_question(articles: Articles) -> None:
        articles[1]["questions"].append(articles[0]["questions"][0])

    edit_articles(kb_copy, GLADSAXE_FLEKSJOB, copy_question)
    assert has_error(validate(kb_copy), "question 'kan jeg få fleksjob i gladsaxe' is also in")


def test_same_question_in_two_municipalities_is_allowed(kb_copy: Path) -> None:
    rodovre = yaml.safe_load((kb_copy / "articles/rodovre/fleksjob.yml").read_text(encoding="utf-8"))

    def copy_question(articles: Articles) -> None:
        articles[0]["questions"].append(rodovre[0]["questions"][0])

    edit_articles(kb_copy, GLADSAXE_FLEKSJOB, copy_question)
    assert validate(kb_copy) == []


def test_duplicate_id(kb_copy: Path) -> None:
    def reuse_id(articles: Articles) -> None:
        articles[1]["id"] = articles[0]["id"]

    edit_articles(kb_copy, GLADSAXE_FLEKSJOB, reuse_id)
    assert has_error(validate(kb_copy), "gladsaxe-fleksjob-job-paa-saerlige-vilkaar: id is used by more than one")


def test_answer_over_120_words(kb_copy: Path) -> None:
    def lengthen(article: dict[str, Any]) -> None:
        article["answer"] = " ".join(["ord"] * 121)

    article_id = edit_first(kb_copy, GLADSAXE_FLEKSJOB, lengthen)
    assert has_error(validate(kb_copy), article_id, "answer", "121 words; at most 120")


def test_unknown_topic(kb_copy: Path) -> None:
    def retopic(article: dict[str, Any]) -> None:
        article["topic"] = "skrald"

    article_id = edit_first(kb_copy, GLADSAXE_FLEKSJOB, retopic)
    assert has_error(validate(kb_copy), article_id, "topic:")


def test_unknown_municipality(kb_copy: Path) -> None:
    def move(article: dict[str, Any]) -> None:
        article["municipality"] = "koebenhavn"

    article_id = edit_first(kb_copy, GLADSAXE_FLEKSJOB, move)
    assert has_error(validate(kb_copy), article_id, "municipality")


def test_fewer_than_four_questions(kb_copy: Path) -> None:
    def shorten(article: dict[str, Any]) -> None:
        article["questions"] = article["questions"][:3]

    article_id = edit_first(kb_copy, GLADSAXE_FLEKSJOB, shorten)
    assert has_error(validate(kb_copy), article_id, "questions:", "at least 4")


def test_citation_from_another_municipalitys_source(kb_copy: Path) -> None:
    def cite_rodovre(article: dict[str, Any]) -> None:
        article["citations"].append(
            {
                "source": "rodovre-arbejdsmarkedspolitik-2003",
                "section": "Sociale klausuler",
                "quote": "Sociale klausuler",
            }
        )

    article_id = edit_first(kb_copy, GLADSAXE_FLEKSJOB, cite_rodovre)
    assert has_error(
        validate(kb_copy), article_id, "cites rodovre-arbejdsmarkedspolitik-2003, which belongs to rodovre"
    )


def test_core_topic_without_article_and_not_declared_silent(kb_copy: Path) -> None:
    (kb_copy / "articles" / GLADSAXE_FLEKSJOB).unlink()
    assert validate(kb_copy) == ["coverage: gladsaxe/fleksjob has no article and is not declared silent"]


def test_core_topic_declared_silent_is_fine(kb_copy: Path) -> None:
    (kb_copy / "articles" / GLADSAXE_FLEKSJOB).unlink()
    index_path = kb_copy / "sources.yml"
    index = yaml.safe_load(index_path.read_text(encoding="utf-8"))
    index["coverage"]["gladsaxe"]["silent_topics"] = ["fleksjob"]
    index_path.write_text(yaml.safe_dump(index, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert validate(kb_copy) == []


def test_stale_section_index(kb_copy: Path) -> None:
    source = kb_copy / "sources" / "003_93c696df2090f270.txt"
    source.write_text("Ny forside\n\n" + source.read_text(encoding="utf-8"), encoding="utf-8")
    assert has_error(validate(kb_copy), "gladsaxe-beskaeftigelsesplan-2022", "section index is out of date")


def run_cli(*args: str, knowledge_dir: Path = KNOWLEDGE) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KNOWLEDGE_DIR": str(knowledge_dir), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "bot.knowledge", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_validate_exits_0_on_the_repository() -> None:
    result = run_cli("validate")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK: ")


def test_cli_validate_exits_1_on_a_broken_copy(kb_copy: Path) -> None:
    (kb_copy / "articles" / GLADSAXE_FLEKSJOB).unlink()
    result = run_cli("validate", knowledge_dir=kb_copy)
    assert result.returncode == 1
    assert "gladsaxe/fleksjob has no article and is not declared silent" in result.stdout
    assert "1 problem(s) in the knowledge base." in result.stdout


def test_cli_stats_marks_ballerups_silent_topics() -> None:
    result = run_cli("stats")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0].rstrip("*"): line.split()[1:] for line in result.stdout.splitlines() if line.strip()}
    for topic in ("fleksjob", "handicapkompensation", "loentilskud"):
        assert rows[topic][:2] == ["0", "tavs"], rows[topic]
    assert rows["rettigheder"][:2] != ["0", "tavs"]


# -- the reform rule -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Kontakt Jobcenter Gladsaxe.", "jobcentre"),
        ("Jobcentrets Ungeenhed hjælper dig.", "jobcentre"),
        ("Rehabiliteringsteamet indstiller til et forløb.", "rehabiliteringsteam"),
        ("Det gælder borgere i jobafklarings- og ressourceforløb.", "ressourceforløb"),
        ("Du kan få revalideringsydelse.", "revalidering"),
        ("Jobrotation giver vikarer til virksomheden.", "jobrotation"),
        ("Du kan få en mentor i praktikken.", "mentorstøtte"),
        ('Brugen af "øvrig vejledning og opkvalificering" er skåret ned.', "opkvalificering"),
        ("Planen nævner hyppige samtaler.", "samtaler"),
        ("Spørg, hvor tit du skal til samtale.", "samtaler"),
        ("Reglerne for kontakt blev mere fleksible.", "samtaler"),
        ("Kontakt kommunens virksomhedsservice.", "virksomheders kontakt til kommunen"),
        ("Det står i lov om en aktiv beskæftigelsesindsats.", "kommunens hjælp til at komme i job"),
        ("Du kan få en sanktion.", "sanktioner"),
        ("Reglerne står i sygedagpengeloven.", "sygedagpenge"),
        ("Unge kan få et uddannelsespålæg.", "uddannelsespålæg"),
    ],
)
def test_reform_terms_find_their_danish_variants(text: str, label: str) -> None:
    assert [term.label for term, _ in reform.mentions(text)] == [label]


@pytest.mark.parametrize(
    "text",
    [
        "Frivillige jobmentorer stiller op.",  # volunteers, not the mentor support the reform cut
        "Handleplanen for psykisk sårbare indeholder 'Én indgang'.",  # not the businesses' entry point
        "Du skal møde op til samtaler.",  # a duty, not a fixed meeting frequency
        "Arbejdsgiveren kan bede om en fastholdelsesplan.",
        "Kommunen betaler et fleksløntilskud.",
    ],
)
def test_reform_terms_leave_look_alikes_alone(text: str) -> None:
    assert reform.mentions(text) == []


def test_announced_changes_are_the_ones_expected_in_2027() -> None:
    announced = {term.label for term in reform.TERMS if term.stage is Stage.ANNOUNCED}
    assert announced == {"kommunens hjælp til at komme i job", "sanktioner", "sygedagpenge", "uddannelsespålæg"}


def test_reform_labels_can_be_joined_with_og() -> None:
    assert [term.label for term in reform.TERMS if " og " in term.label] == []


def test_answer_about_ressourceforloeb_without_reform_note(kb_copy: Path) -> None:
    article_id = "rodovre-om-jobcenteret-aktivitetsparat"
    edit_article(kb_copy, "rodovre/om_jobcenteret.yml", article_id, lambda a: a.update(reform_note=False))
    assert has_error(
        validate(kb_copy),
        article_id,
        "'ressourceforløb' (ressourceforløb: abolished for new cases",
        "set reform_note: true",
    )


def test_common_article_about_sygedagpenge_needs_the_reform_note_too(kb_copy: Path) -> None:
    article_id = "alle-handicapkompensation-overblik"

    def mention_sygedagpenge(article: dict[str, Any]) -> None:
        assert not article["reform_note"]
        article["answer"] += " Er du syg, kan du få sygedagpenge."

    edit_article(kb_copy, "alle/handicapkompensation.yml", article_id, mention_sygedagpenge)
    assert has_error(validate(kb_copy), article_id, "'sygedagpenge' (sygedagpenge: new sickness-benefit rules")


def test_answer_about_a_changed_scheme_with_reform_note_is_fine(kb_copy: Path) -> None:
    def mention_sygedagpenge(article: dict[str, Any]) -> None:
        article["answer"] += " Er du syg, kan du få sygedagpenge."
        article["reform_note"] = True

    edit_article(kb_copy, "alle/handicapkompensation.yml", "alle-handicapkompensation-overblik", mention_sygedagpenge)
    assert validate(kb_copy) == []


def crafted_term(basis: str) -> ReformTerm:
    return ReformTerm(
        label="jobklubber", pattern=re.compile("jobklub"), stage=Stage.IN_FORCE, change="made up", basis=basis
    )


def test_reform_term_not_backed_by_the_national_sheet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reform, "TERMS", (*reform.TERMS, crafted_term("It abolishes the jobklubber")))
    assert has_error(validate(KNOWLEDGE), "reform term 'jobklubber'", "its basis is not in national-kontekst")


def test_reform_term_backed_by_an_unconfirmed_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    basis = "Which of these took effect on 1 February and which on 1 July"
    monkeypatch.setattr(reform, "TERMS", (*reform.TERMS, crafted_term(basis)))
    assert has_error(validate(KNOWLEDGE), "reform term 'jobklubber'", "sentence marked UNCONFIRMED")
