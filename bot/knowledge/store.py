"""Load the knowledge base from knowledge/: sources.yml, sources/, articles/."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.knowledge.schema import Article, Source, SourceIndex
from bot.taxonomy import Municipality, Topic

SOURCES_FILE = "sources.yml"
SOURCES_DIR = "sources"
ARTICLES_DIR = "articles"


@dataclass(frozen=True)
class KnowledgeBase:
    sources: dict[str, Source]
    texts: dict[str, str]
    articles: tuple[Article, ...]
    silent_topics: dict[Municipality, frozenset[Topic]]

    def article(self, article_id: str) -> Article:
        for article in self.articles:
            if article.id == article_id:
                return article
        raise KeyError(article_id)

    def policy_is_silent(self, municipality: Municipality, topic: Topic) -> bool:
        return topic in self.silent_topics.get(municipality, frozenset())


def load_source_index(directory: Path) -> SourceIndex:
    data = yaml.safe_load((directory / SOURCES_FILE).read_text(encoding="utf-8"))
    return SourceIndex.model_validate(data)


def read_article_files(directory: Path) -> list[tuple[Path, list[dict[str, Any]]]]:
    """Return the raw article dicts of every YAML file under articles/."""
    files = sorted((directory / ARTICLES_DIR).rglob("*.yml"))
    return [(path, yaml.safe_load(path.read_text(encoding="utf-8")) or []) for path in files]


def load_knowledge(directory: Path) -> KnowledgeBase:
    """Load and validate the whole knowledge base (raises on schema errors)."""
    index = load_source_index(directory)
    texts = {source.id: (directory / SOURCES_DIR / source.file).read_text(encoding="utf-8") for source in index.sources}
    raw = [article for _, articles in read_article_files(directory) for article in articles]
    articles = [Article.model_validate(article) for article in raw]
    return KnowledgeBase(
        sources={source.id: source for source in index.sources},
        texts=texts,
        articles=tuple(articles),
        silent_topics={m: frozenset(c.silent_topics) for m, c in index.coverage.items()},
    )
