"""Whether typed feedback says the answer helped ("det hjalp ikke" -> nej),
and which question the answer it speaks of answered."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

HELPFUL = "ja"
NOT_HELPFUL = "nej"

# A negation or a word of criticism anywhere makes the feedback negative.
_NEGATIVE = re.compile(
    r"\b(ikke|ingen|intet|not|forkert\w*|uklar\w*|indviklet|dårlig\w*|ubrugelig\w*|forvirr\w*|svær\w*"
    r"|rodet|misvisende|ved siden af)\b",
    re.IGNORECASE,
)


def typed_helpful(text: str) -> str:
    """Return "ja" or "nej" for feedback typed instead of a button press."""
    return NOT_HELPFUL if _NEGATIVE.search(text) else HELPFUL


def answered_question(events: Iterable[dict[str, Any]], article_id: str | None) -> str | None:
    """The question behind the conversation's latest answer (of that article,
    when known): the last message the user typed before it. A button's
    payload ("/inform_municipality...") is skipped, so the question a
    municipality or a clarifying choice was asked for is found."""
    answered = False
    for event in reversed(list(events)):
        if not answered:
            custom = (event.get("data") or {}).get("custom") or {}
            answered = (
                event.get("event") == "bot"
                and custom.get("kind") == "answer"
                and (article_id is None or custom.get("article_id") == article_id)
            )
        elif event.get("event") == "user" and not str(event.get("text") or "/").startswith("/"):
            return str(event["text"])
    return None
