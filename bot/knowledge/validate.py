"""Check the knowledge base: every rule a curator can break, with a clear message.

`python -m bot.knowledge validate` prints one line per problem and exits 1 when
there is any. The checks: schema, source index up to date, citations verbatim
in the named section, ids unique, questions not repeated between articles a
user can see together, numbers and contact details in answers backed by the
cited text, nothing cited from a sentence marked UNCONFIRMED, the reform note
on every answer that speaks of a scheme the reform changed (the terms in
bot/knowledge/reform.py, each still backed by the national sheet), and
coverage of the core topics.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from pathlib import Path

from pydantic import ValidationError

from bot.knowledge import reform
from bot.knowledge.schema import Article, Citation, Source, normalise_space
from bot.knowledge.sections import parse_sections
from bot.knowledge.store import (
    SOURCES_DIR,
    KnowledgeBase,
    load_source_index,
    read_article_files,
)
from bot.taxonomy import ALL_MUNICIPALITIES, CORE_TOPICS, Municipality, Topic

UNCONFIRMED = "UNCONFIRMED"
#: Digits in an answer (amounts, hours, phone numbers, years) must be backed.
_NUMBER = re.compile(r"\d[\d .,-]*\d|\d")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


def _question_key(question: str) -> str:
    return " ".join(re.findall(r"\w+", question.lower()))


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _sentence_around(text: str, start: int, end: int) -> str:
    """The sentence (or sentences) of `text` that hold text[start:end]."""
    sentence_start = max(text.rfind(". ", 0, start), text.rfind("\n", 0, start))
    sentence_end = text.find(". ", end)
    return text[sentence_start + 1 : sentence_end if sentence_end > 0 else None]


class Validator:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.errors: list[str] = []

    def error(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")

    # -- sources -------------------------------------------------------------

    def check_sources(self, sources: dict[str, Source], texts: dict[str, str]) -> None:
        for source in sources.values():
            parsed = parse_sections(texts[source.id])
            recorded = [(s.heading, s.start, s.end) for s in source.sections]
            if recorded != [(s.heading, s.start, s.end) for s in parsed]:
                self.error(
                    f"sources.yml: {source.id}",
                    "section index is out of date; run `python -m bot.knowledge index`",
                )
            headings = {s.heading for s in source.sections}
            for heading in set(source.section_labels) - headings:
                self.error(f"sources.yml: {source.id}", f"section_labels names no section: {heading!r}")

    def check_reform_terms(self, sources: dict[str, Source], texts: dict[str, str]) -> None:
        """Each reform term rests on confirmed words of the national sheet's reform section."""
        source = sources.get(reform.SOURCE)
        section = next((s for s in source.sections if s.heading == reform.SECTION), None) if source else None
        if source is None or section is None:
            self.error("reform terms", f"no source {reform.SOURCE!r} with a section {reform.SECTION!r}")
            return
        text = normalise_space(texts[source.id][section.start : section.end])
        for term in reform.TERMS:
            basis = normalise_space(term.basis)
            position = text.find(basis)
            if position < 0:
                self.error(f"reform term {term.label!r}", f"its basis is not in {source.id} «{section.heading}»")
            elif UNCONFIRMED in _sentence_around(text, position, position + len(basis)):
                self.error(f"reform term {term.label!r}", f"its basis comes from a sentence marked {UNCONFIRMED}")

    # -- one article ---------------------------------------------------------

    def check_citation(self, where: str, article: Article, citation: Citation, kb: KnowledgeBase) -> None:
        source = kb.sources.get(citation.source)
        if source is None:
            self.error(where, f"unknown source {citation.source!r}")
            return
        if source.municipality not in (article.municipality, ALL_MUNICIPALITIES):
            self.error(where, f"cites {source.id}, which belongs to {source.municipality}")
        section = next((s for s in source.sections if s.heading == citation.section), None)
        if section is None:
            self.error(where, f"source {source.id} has no section {citation.section!r}")
            return
        section_text = normalise_space(kb.texts[source.id][section.start : section.end])
        quote = normalise_space(citation.quote)
        position = section_text.find(quote)
        if position < 0:
            in_document = quote in normalise_space(kb.texts[source.id])
            where_else = " (it is in another section)" if in_document else ""
            self.error(where, f"quote is not verbatim in {source.id} «{section.heading}»{where_else}: {quote[:60]!r}")
            return
        if UNCONFIRMED in _sentence_around(section_text, position, position + len(quote)):
            self.error(where, f"quote comes from a sentence marked {UNCONFIRMED}")

    def check_backed_facts(self, where: str, article: Article, kb: KnowledgeBase) -> None:
        """Numbers and e-mail addresses in the answer must occur in a cited section."""
        cited = " ".join(
            kb.texts[c.source][s.start : s.end]
            for c in article.citations
            if c.source in kb.sources
            for s in kb.sources[c.source].sections
            if s.heading == c.section
        )
        cited_digits = _digits(cited)
        for number in _NUMBER.findall(article.answer):
            if _digits(number) not in cited_digits:
                self.error(where, f"the number {number!r} in the answer is not in any cited section")
        for email in _EMAIL.findall(article.answer):
            if email.rstrip(".") not in cited:
                self.error(where, f"the e-mail {email!r} in the answer is not in any cited section")

    def check_reform_note(self, where: str, article: Article) -> None:
        """An answer that speaks of a scheme the reform changed must carry the reform note."""
        found = reform.mentions(article.answer)
        if found and not article.reform_note:
            named = ", ".join(f"{words!r} ({term.label}: {term.change})" for term, words in found)
            self.error(where, f"the answer speaks of {named}; set reform_note: true")

    def check_article(self, where: str, article: Article, kb: KnowledgeBase) -> None:
        for citation in article.citations:
            self.check_citation(where, article, citation, kb)
        self.check_backed_facts(where, article, kb)
        self.check_reform_note(where, article)
        if article.reviewed > date.today():
            self.error(where, f"reviewed date {article.reviewed} is in the future")
        keys = [_question_key(q) for q in article.questions]
        if len(set(keys)) != len(keys):
            self.error(where, "the same question is listed twice")

    # -- the whole collection ------------------------------------------------

    def check_duplicates(self, articles: list[Article]) -> None:
        seen: dict[str, Article] = {}
        for article in articles:
            if article.id in seen:
                self.error(article.id, "id is used by more than one article")
            seen[article.id] = article
        by_question: dict[str, list[Article]] = defaultdict(list)
        for article in articles:
            for question in set(map(_question_key, article.questions)):
                by_question[question].append(article)
        for question, owners in by_question.items():
            for i, first in enumerate(owners):
                for second in owners[i + 1 :]:
                    if first.is_common or second.is_common or first.municipality == second.municipality:
                        self.error(first.id, f"question {question!r} is also in {second.id}")

    def check_coverage(self, articles: list[Article], silent: dict[Municipality, frozenset[Topic]]) -> None:
        present = {(a.municipality, a.topic) for a in articles}
        for topic in Topic:
            if not any(a.topic == topic for a in articles):
                self.error("coverage", f"no article has the topic {topic.value}")
        for municipality in Municipality:
            for topic in CORE_TOPICS:
                has_own = (municipality, topic) in present
                is_silent = topic in silent.get(municipality, frozenset())
                if has_own and is_silent:
                    self.error("coverage", f"{municipality.value}/{topic.value} is declared silent but has articles")
                if not has_own and not is_silent:
                    self.error(
                        "coverage", f"{municipality.value}/{topic.value} has no article and is not declared silent"
                    )
                if is_silent and (ALL_MUNICIPALITIES, topic) not in present:
                    self.error(
                        "coverage", f"{municipality.value}/{topic.value} is silent but no common article covers it"
                    )

    def run(self) -> list[str]:
        index = load_source_index(self.directory)
        sources = {s.id: s for s in index.sources}
        texts = {s.id: (self.directory / SOURCES_DIR / s.file).read_text(encoding="utf-8") for s in index.sources}
        self.check_sources(sources, texts)
        self.check_reform_terms(sources, texts)
        silent = {m: frozenset(c.silent_topics) for m, c in index.coverage.items()}
        kb = KnowledgeBase(sources=sources, texts=texts, articles=(), silent_topics=silent)
        articles: list[Article] = []
        for path, raw_articles in read_article_files(self.directory):
            name = path.relative_to(self.directory)
            for n, raw in enumerate(raw_articles, start=1):
                where = f"{name}: {raw.get('id', f'article {n}') if isinstance(raw, dict) else n}"
                try:
                    article = Article.model_validate(raw)
                except ValidationError as exc:
                    for err in exc.errors():
                        field = ".".join(str(p) for p in err["loc"])
                        self.error(where, f"{field}: {err['msg']}")
                    continue
                self.check_article(where, article, kb)
                articles.append(article)
        self.check_duplicates(articles)
        self.check_coverage(articles, silent)
        return self.errors


def validate(directory: Path) -> list[str]:
    """Return every problem in the knowledge base under `directory`."""
    return Validator(directory).run()
