"""The knowledge engine shared by a process, loaded once on first use."""

from __future__ import annotations

from functools import lru_cache

from bot.knowledge.engine import Engine
from bot.knowledge.store import load_knowledge
from bot.settings import get_settings


@lru_cache
def get_engine() -> Engine:
    return Engine(load_knowledge(get_settings().knowledge_dir))
