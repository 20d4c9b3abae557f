"""Employment subjects the knowledge base has no article on.

The four municipalities' policies are silent on some things a job centre
does deal with. A question about one of them must get an honest "I have no
answer to that" and a caseworker, never the nearest article on another
subject (a question about ledighedsydelse is not answered with the rules for
fleksjob). Each entry names the subject as a citizen would read it and the
wordings that ask about it. A subject stops being a gap by itself as soon as
an article mentions it (see `Engine.missing_subject`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Gap:
    #: The subject, as the reply names it ("Jeg har ikke et svar om ...").
    label: str
    pattern: re.Pattern[str]


def _gap(label: str, pattern: str) -> Gap:
    return Gap(label, re.compile(pattern, re.IGNORECASE))


GAPS: tuple[Gap, ...] = (
    _gap("ledighedsydelse", r"ledigheds\s?ydelse"),
    _gap("seniorjob", r"senior\s?-?job"),
    _gap("tolk", r"\btolk(?:e|en|ene|ning|ebistand)?\b"),
    _gap("selvforsørgelses- og hjemrejseydelse", r"selvforsørgelses\w*|hjemrejseydelse|overgangsydelse"),
    _gap("befordringsgodtgørelse og kørepenge", r"befordring\w*|transportgodtgørelse|kørepenge|transportudgift\w*"),
    _gap("voksenlærlinge", r"voksenlærling\w*"),
    _gap("225-timersreglen", r"225[\s-]*timer"),
    _gap("kontanthjælpsloftet", r"kontanthjælpsloft\w*"),
    _gap("skånejob", r"skånejob\w*"),
    _gap("arbejdsprøvning", r"arbejdsprøvning\w*"),
)


def named_gap(text: str, gaps: tuple[Gap, ...] = GAPS) -> Gap | None:
    """The first of `gaps` the text asks about, if any."""
    return next((gap for gap in gaps if gap.pattern.search(text)), None)
