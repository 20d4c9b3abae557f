"""The shape of the knowledge base: sources, sections, articles, citations."""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.taxonomy import ALL_MUNICIPALITIES, Audience, Municipality, Topic

MAX_ANSWER_WORDS = 120
MIN_QUESTIONS = 4

Scope = Municipality | Literal["alle"]
ArticleAudience = Audience | Literal["begge"]


def normalise_space(text: str) -> str:
    """Collapse every run of whitespace to one space (for verbatim checks)."""
    return " ".join(text.split())


def word_count(text: str) -> int:
    return len(re.findall(r"\w+", text))


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceSection(Strict):
    heading: str
    start: int
    end: int


class Source(Strict):
    """One policy document (or the national fact sheet) in knowledge/sources/."""

    id: str = Field(pattern=r"^[a-z0-9-]+$")
    file: str
    municipality: Scope
    title: str
    kind: str
    year: int = Field(ge=1990, le=2100)
    period: str = Field(description="How the document dates itself, for display.")
    #: Danish names to show for headings that are not in Danish.
    section_labels: dict[str, str] = Field(default_factory=dict)
    sections: tuple[SourceSection, ...] = ()

    def section_label(self, heading: str) -> str:
        return self.section_labels.get(heading, heading)


class Citation(Strict):
    source: str
    section: str
    quote: str = Field(min_length=15, max_length=400)


class Article(Strict):
    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    topic: Topic
    audience: ArticleAudience
    municipality: Scope
    title: str = Field(min_length=3, max_length=120)
    questions: tuple[str, ...] = Field(min_length=MIN_QUESTIONS)
    answer: str
    citations: tuple[Citation, ...] = Field(min_length=1)
    reform_note: bool = False
    handoff_hint: str | None = None
    reviewed: date

    @field_validator("answer")
    @classmethod
    def _short_answer(cls, answer: str) -> str:
        words = word_count(answer)
        if words > MAX_ANSWER_WORDS:
            raise ValueError(f"answer has {words} words; at most {MAX_ANSWER_WORDS}")
        return answer.strip()

    @property
    def is_common(self) -> bool:
        return self.municipality == ALL_MUNICIPALITIES


class MunicipalityCoverage(Strict):
    """What a municipality's policies leave out, declared by the curators."""

    silent_topics: tuple[Topic, ...] = ()


class SourceIndex(Strict):
    """The contents of knowledge/sources.yml."""

    sources: tuple[Source, ...]
    coverage: dict[Municipality, MunicipalityCoverage]
