"""Infer whether a citizen or a business is asking, from what they write."""

from __future__ import annotations

import re

from bot.taxonomy import Audience

_BUSINESS = r"(virksomhed|firma|butik|forretning|arbejdsgiver|restaurant|værksted|kontor|arbejdsplads)"
_EMPLOYER = re.compile(
    rf"\bvi er (en|et) (\w+ )?{_BUSINESS}"
    r"|\bvi (mangler|søger) (folk|arbejdskraft|medarbejdere|hænder|personale|en medarbejder)"
    r"|\bvi (vil|skal|gerne vil|ønsker at) (gerne )?ansætte|\bvi ansætter\b"
    r"|\b(vores|min) (virksomhed|firma|butik|forretning|medarbejdere?|ansatte)\b"
    r"|\b(jeg er|som) (arbejdsgiver|virksomhedsejer|indehaver)\b"
    r"|\bmangler (folk|arbejdskraft|medarbejdere|hænder)\b",
    re.IGNORECASE,
)


def infer_audience(text: str) -> Audience | None:
    """Return VIRKSOMHED when the text reads like an employer, else None.

    Citizens are the default audience, so only clear employer wording counts.
    """
    return Audience.VIRKSOMHED if _EMPLOYER.search(text) else None
