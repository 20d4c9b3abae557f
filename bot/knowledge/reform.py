"""The schemes the 2025 employment reform abolished, cut or announced changes to.

One list, built from the section "The reform that dates the policies" of
knowledge/sources/national-context.md (a copy of ../shared/domain). Law no.
1750 of 29 December 2025 took effect on 1 February and 1 July 2026 and cut
two kinds of support from 1 January 2026; a second round is announced for
1 January 2027 but not in force. An article whose answer speaks of one of
these schemes must carry `reform_note: true`, and the answer's warning names
the schemes and says whether they changed in 2026 or are announced for 2027.

Each term has:
- `label`: the scheme in plain Danish, as the warning names it (without
  "og": the warning joins labels with "og");
- `pattern`: the Danish words that speak of it (stems; compounds that only
  start with the stem count, so "sygedagpengeloven" is sickness benefit);
- `stage`: in force in 2026, or announced for 2027;
- `change`: what happened and when, in English, for the validator's message;
- `basis`: the words of the national sheet the term rests on; the validator
  checks that they are still there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

#: Where the terms come from: the source id and section of the national sheet.
SOURCE = "national-kontekst"
SECTION = "The reform that dates the policies"


class Stage(Enum):
    """When a change applies: the year is the one the warning names."""

    IN_FORCE = 2026
    ANNOUNCED = 2027


@dataclass(frozen=True)
class ReformTerm:
    label: str
    pattern: re.Pattern[str]
    stage: Stage
    change: str
    basis: str


def _words(*alternatives: str) -> re.Pattern[str]:
    """Match any alternative at the start of a word, in any case."""
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")", re.IGNORECASE)


TERMS: tuple[ReformTerm, ...] = (
    ReformTerm(
        label="jobcentre",
        pattern=_words(r"jobcent(?:er|r)\w*"),
        stage=Stage.IN_FORCE,
        change="municipalities need no longer run a jobcenter (2026)",
        basis='Municipalities are no longer required to run a "jobcenter"',
    ),
    ReformTerm(
        label="rehabiliteringsteam",
        pattern=_words(r"rehabiliteringsteam\w*", r"rehabiliteringsmøde\w*"),
        stage=Stage.IN_FORCE,
        change="abolished (2026)",
        basis="It abolishes the rehabiliteringsteam",
    ),
    ReformTerm(
        label="ressourceforløb",
        pattern=_words(r"ressourceforløb\w*"),
        stage=Stage.IN_FORCE,
        change="abolished for new cases, with transition rules (2026)",
        basis="ressourceforløb (for new cases, with transition rules)",
    ),
    ReformTerm(
        label="revalidering",
        pattern=_words(r"revalid\w*"),
        stage=Stage.IN_FORCE,
        change="ended 1 February 2026",
        basis="revalidering (ended 1 February 2026)",
    ),
    ReformTerm(
        label="jobrotation",
        pattern=_words(r"jobrotation\w*"),
        stage=Stage.IN_FORCE,
        change="abolished (2026)",
        basis="and jobrotation",
    ),
    ReformTerm(
        label="mentorstøtte",
        pattern=_words(r"mentor\w*"),
        stage=Stage.IN_FORCE,
        change="use reduced from 1 January 2026",
        basis="From 1 January 2026 the use of mentor support",
    ),
    ReformTerm(
        label="opkvalificering",
        pattern=_words(r"vejledning og opkvalificering"),
        stage=Stage.IN_FORCE,
        change='"øvrig vejledning og opkvalificering" reduced from 1 January 2026',
        basis='"øvrig vejledning og opkvalificering" was reduced',
    ),
    ReformTerm(
        label="samtaler",
        pattern=_words(
            r"(?:hyppig\w*|faste?|hvor tit|hvor ofte)\s+(?:\w+\s+){0,3}samtale\w*",
            r"kontaktregler\w*",
            r"regler(?:ne)? for kontakt",
        ),
        stage=Stage.IN_FORCE,
        change="fixed meeting frequencies replaced by flexible contact rules from 1 July 2026",
        basis="From 1 July 2026: flexible contact rules",
    ),
    ReformTerm(
        label="virksomheders kontakt til kommunen",
        pattern=_words(r"virksomhedsindgang\w*", r"én indgang for virksomhede\w*", r"virksomhedsservice\w*"),
        stage=Stage.IN_FORCE,
        change="one entry point for businesses in each municipality from 1 July 2026",
        basis="one entry point for businesses in each municipality",
    ),
    ReformTerm(
        label="kommunens hjælp til at komme i job",
        pattern=_words(r"lov om en aktiv beskæftigelsesindsats", r"beskæftigelsesloven", r"hovedlov om beskæftigelse"),
        stage=Stage.ANNOUNCED,
        change="a new main employment act is expected 1 January 2027",
        basis="Expected 1 January 2027: a new main employment act",
    ),
    ReformTerm(
        label="sanktioner",
        pattern=_words(r"sanktion\w*"),
        stage=Stage.ANNOUNCED,
        change="new sanction rules are expected 1 January 2027",
        basis="new sanction rules",
    ),
    ReformTerm(
        label="sygedagpenge",
        pattern=_words(r"sygedagpenge\w*"),
        stage=Stage.ANNOUNCED,
        change="new sickness-benefit rules are expected 1 January 2027",
        basis="new sickness-benefit rules",
    ),
    ReformTerm(
        label="uddannelsespålæg",
        pattern=_words(r"uddannelsespålæg\w*"),
        stage=Stage.ANNOUNCED,
        change="to be abolished, expected 1 January 2027",
        basis="uddannelsespålæg for young people is to be abolished",
    ),
)


def mentions(text: str) -> list[tuple[ReformTerm, str]]:
    """The reform terms a text speaks of, each with the first words that name it."""
    found = ((term, term.pattern.search(text)) for term in TERMS)
    return [(term, match.group(0)) for term, match in found if match]


def labels_by_stage(text: str) -> dict[Stage, list[str]]:
    """The labels of the schemes a text speaks of, per stage, in the order of TERMS."""
    grouped: dict[Stage, list[str]] = {stage: [] for stage in Stage}
    for term, _ in mentions(text):
        grouped[term.stage].append(term.label)
    return grouped
