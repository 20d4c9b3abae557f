"""How else to reach the municipality, from the knowledge base's contact articles."""

from __future__ import annotations

from bot.knowledge.store import KnowledgeBase
from bot.taxonomy import Municipality, Topic

GENERAL_ROUTE = "Du kan finde kommunens kontaktoplysninger på kommunens hjemmeside eller på borger.dk."


def contact_route(kb: KnowledgeBase, municipality: Municipality | None) -> str:
    """The municipality's own contact article, or the general route."""
    for article in kb.articles:
        if article.topic is Topic.KONTAKT and article.municipality == municipality:
            return article.answer
    return GENERAL_ROUTE
