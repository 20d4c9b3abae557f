"""Whether typed feedback says the answer helped ("det hjalp ikke" -> nej)."""

from __future__ import annotations

import re

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
