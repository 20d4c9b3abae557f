"""The knowledge engine shared by a process: built on first use, and rebuilt
without a restart by `reload_engine`, which checks the knowledge base with
the validator and builds the new index aside while the old one keeps
serving; a knowledge base with problems is refused and the old index stays."""

from __future__ import annotations

import threading

from bot.knowledge.engine import Engine
from bot.knowledge.store import load_knowledge
from bot.knowledge.validate import validate
from bot.settings import get_settings


class KnowledgeInvalidError(Exception):
    """The knowledge base has problems; `problems` holds the validator's messages."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problems in the knowledge base")
        self.problems = problems


class _Current:
    engine: Engine | None = None
    lock = threading.Lock()


def _build() -> Engine:
    return Engine(load_knowledge(get_settings().knowledge_dir))


def get_engine() -> Engine:
    if _Current.engine is None:
        with _Current.lock:
            if _Current.engine is None:
                _Current.engine = _build()
    return _Current.engine


def reload_engine() -> Engine:
    """Validate KNOWLEDGE_DIR and build a new index from it, then serve that.
    Raises KnowledgeInvalidError, and keeps the old index, when the
    validator finds a problem."""
    problems = validate(get_settings().knowledge_dir)
    if problems:
        raise KnowledgeInvalidError(problems)
    engine = _build()
    with _Current.lock:
        _Current.engine = engine
    return engine
