"""Recognise a user who says they have little Danish.

The knowledge base is in Danish only. When the assistant cannot help, such a
user should not be asked to "write it another way": they hear that short,
simple words are fine and are offered a caseworker at once.
"""

from __future__ import annotations

import re

_LITTLE_DANISH = re.compile(
    r"\b(?:kan|taler|forstår|skriver|læser)\s+(?:ikke|kun\s+lidt|lidt|dårligt)\s+"
    r"(?:(?:tale|skrive|læse|forstå)\s+)?(?:(?:så\s+)?godt\s+|særlig\s+godt\s+|meget\s+)?dansk\b"
    r"|\bikke\s+(?:så\s+|særlig\s+|specielt\s+)?god\s+til\s+dansk"
    r"|\bmit\s+dansk\s+er\s+(?:ikke\s+(?:så\s+|særlig\s+)?godt|dårligt)"
    r"|\bdårlige?t?\s+dansk\b"
    r"|\b(?:don'?t|do\s+not|can'?t|cannot)\s+(?:speak|read|write|understand)\s+danish"
    r"|\bspeak\s+english\b|\bin\s+english\b|\benglish\s+please\b",
    re.IGNORECASE,
)


def says_little_danish(text: str) -> bool:
    """True when the user says they have little Danish ("jeg taler ikke så godt dansk")."""
    return bool(_LITTLE_DANISH.search(text))
