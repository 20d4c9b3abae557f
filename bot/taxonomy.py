"""The shared vocabulary: topics, municipalities, audiences and teams.

Every other part of the system (knowledge base, NLU data, actions, statistics,
the caseworker inbox) imports these definitions instead of repeating them.
"""

from __future__ import annotations

import re
from enum import Enum


class Topic(str, Enum):
    """What a question is about. Used by articles, answers and statistics."""

    RETTIGHEDER = "rettigheder"
    PLIGTER = "pligter"
    FLEKSJOB = "fleksjob"
    HANDICAPKOMPENSATION = "handicapkompensation"
    REKRUTTERING = "rekruttering"
    LOENTILSKUD = "loentilskud"
    VIRKSOMHEDSPRAKTIK = "virksomhedspraktik"
    OPKVALIFICERING = "opkvalificering"
    SYGDOM = "sygdom"
    UNGE = "unge"
    INTEGRATION = "integration"
    KONTAKT = "kontakt"
    OM_JOBCENTERET = "om_jobcenteret"

    @property
    def label(self) -> str:
        return TOPIC_LABELS[self]


TOPIC_LABELS: dict[Topic, str] = {
    Topic.RETTIGHEDER: "Dine rettigheder",
    Topic.PLIGTER: "Dine pligter",
    Topic.FLEKSJOB: "Fleksjob",
    Topic.HANDICAPKOMPENSATION: "Hjælp ved handicap",
    Topic.REKRUTTERING: "Hjælp til at finde medarbejdere",
    Topic.LOENTILSKUD: "Løntilskud",
    Topic.VIRKSOMHEDSPRAKTIK: "Virksomhedspraktik",
    Topic.OPKVALIFICERING: "Uddannelse og kurser",
    Topic.SYGDOM: "Sygdom og sygemelding",
    Topic.UNGE: "Unge under 30",
    Topic.INTEGRATION: "Flygtninge og indvandrere",
    Topic.KONTAKT: "Kontakt",
    Topic.OM_JOBCENTERET: "Om jobcenteret",
}

#: The topics the mission names; every municipality must cover them.
CORE_TOPICS: tuple[Topic, ...] = (
    Topic.RETTIGHEDER,
    Topic.PLIGTER,
    Topic.FLEKSJOB,
    Topic.HANDICAPKOMPENSATION,
    Topic.REKRUTTERING,
    Topic.LOENTILSKUD,
)


class Municipality(str, Enum):
    """The municipalities the assistant serves."""

    BALLERUP = "ballerup"
    GLADSAXE = "gladsaxe"
    RODOVRE = "rodovre"
    RUDERSDAL = "rudersdal"

    @property
    def label(self) -> str:
        return MUNICIPALITY_LABELS[self]


MUNICIPALITY_LABELS: dict[Municipality, str] = {
    Municipality.BALLERUP: "Ballerup",
    Municipality.GLADSAXE: "Gladsaxe",
    Municipality.RODOVRE: "Rødovre",
    Municipality.RUDERSDAL: "Rudersdal",
}


def _spoken_list(words: list[str]) -> str:
    """ "a, b, c eller d"."""
    return f"{', '.join(words[:-1])} eller {words[-1]}"


#: The four municipalities in a sentence: "Ballerup, Gladsaxe, Rødovre eller Rudersdal".
MUNICIPALITY_CHOICES = _spoken_list(list(MUNICIPALITY_LABELS.values()))

#: The article scope for content that holds in every municipality.
ALL_MUNICIPALITIES = "alle"


class Audience(str, Enum):
    """Who is asking: a citizen or a business."""

    BORGER = "borger"
    VIRKSOMHED = "virksomhed"


#: Article audience for content meant for both citizens and businesses.
BOTH_AUDIENCES = "begge"


class Team(str, Enum):
    """The caseworker team that takes a handoff. Mirrors the audience."""

    BORGER = "borger"
    VIRKSOMHED = "virksomhed"

    @property
    def label(self) -> str:
        return _TEAM_LABELS[self]


_TEAM_LABELS: dict[Team, str] = {Team.BORGER: "Borgerteam", Team.VIRKSOMHED: "Virksomhedsteam"}


class HandoffReason(str, Enum):
    """Why a conversation went to a caseworker; sets the case's priority."""

    CRISIS = "crisis"
    COMPLAINT = "complaint"
    PERSONAL_CASE = "personal_case"
    FALLBACK = "fallback"
    REQUEST_HUMAN = "request_human"

    @property
    def priority(self) -> int:
        """1 is most urgent (crisis); larger numbers can wait longer."""
        return _REASON_PRIORITY[self]

    @property
    def label(self) -> str:
        """What the caseworker app shows."""
        return _REASON_LABELS[self]


_REASON_PRIORITY: dict[HandoffReason, int] = {
    HandoffReason.CRISIS: 1,
    HandoffReason.COMPLAINT: 2,
    HandoffReason.PERSONAL_CASE: 2,
    HandoffReason.FALLBACK: 3,
    HandoffReason.REQUEST_HUMAN: 3,
}
_REASON_LABELS: dict[HandoffReason, str] = {
    HandoffReason.CRISIS: "Krise – borgeren har brug for hjælp nu",
    HandoffReason.COMPLAINT: "Klage",
    HandoffReason.PERSONAL_CASE: "Spørgsmål om egen sag",
    HandoffReason.FALLBACK: "Assistenten kunne ikke svare",
    HandoffReason.REQUEST_HUMAN: "Bad selv om en medarbejder",
}


class Outcome(str, Enum):
    """How a closed handoff case ended: chosen when the case is closed, counted on the insights page."""

    ANSWERED = "answered"
    FOLLOW_UP = "follow_up"
    REFERRED = "referred"
    NO_CONTACT = "no_contact"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _OUTCOME_LABELS[self]


_OUTCOME_LABELS: dict[Outcome, str] = {
    Outcome.ANSWERED: "Borgeren fik svar",
    Outcome.FOLLOW_UP: "Aftalt opfølgning (møde, opkald eller sag)",
    Outcome.REFERRED: "Henvist til en anden afdeling eller myndighed",
    Outcome.NO_CONTACT: "Fik ikke kontakt til borgeren",
    Outcome.OTHER: "Andet",
}


class Channel(str, Enum):
    """How the citizen wants to be helped: live in the chat, or called back."""

    CHAT = "chat"
    CALLBACK = "callback"


class Author(str, Enum):
    """Who wrote an entry of a case thread."""

    CITIZEN = "citizen"
    BOT = "bot"
    CASEWORKER = "caseworker"
    SYSTEM = "system"
    NOTE = "note"


#: How users write each municipality's name, misspellings included.
_MUNICIPALITY_PATTERNS: dict[Municipality, str] = {
    Municipality.BALLERUP: r"ball?er+up",
    Municipality.GLADSAXE: r"glads?a(x|ks|cs)e",
    Municipality.RODOVRE: r"r(ø|o|oe)d(ov|o|øv)re",
    Municipality.RUDERSDAL: r"rud(er|e)s?dal",
}
_MUNICIPALITY_IN_TEXT = re.compile(
    "|".join(rf"\b(?P<{m.value}>{pattern})\b" for m, pattern in _MUNICIPALITY_PATTERNS.items()),
    re.IGNORECASE,
)


def find_municipality(text: str) -> Municipality | None:
    """The first municipality named in a text ("jeg bor i Rødovre"), if any."""
    match = _MUNICIPALITY_IN_TEXT.search(text)
    return Municipality(match.lastgroup) if match and match.lastgroup else None


def municipality_spans(text: str) -> list[tuple[int, int, Municipality]]:
    """Where each municipality is named in a text: (start, end, municipality)."""
    matches = _MUNICIPALITY_IN_TEXT.finditer(text)
    return [(m.start(), m.end(), Municipality(m.lastgroup)) for m in matches if m.lastgroup]


def parse_municipality(value: str) -> Municipality | None:
    """Return the municipality for an id or a name, else None ("Rødovre" -> rodovre)."""
    match = _MUNICIPALITY_IN_TEXT.fullmatch(value.strip())
    return Municipality(match.lastgroup) if match and match.lastgroup else None


#: Denmark's other municipalities by official name, so the assistant can tell a
#: user that it does not cover theirs instead of not understanding them.
OTHER_MUNICIPALITIES: tuple[str, ...] = (
    *("Albertslund Kommune", "Allerød Kommune", "Bornholms Regionskommune", "Brøndby Kommune"),
    *("Dragør Kommune", "Egedal Kommune", "Fredensborg Kommune", "Frederiksberg Kommune"),
    *("Frederikssund Kommune", "Furesø Kommune", "Gentofte Kommune", "Glostrup Kommune"),
    *("Gribskov Kommune", "Halsnæs Kommune", "Helsingør Kommune", "Herlev Kommune"),
    *("Hillerød Kommune", "Hvidovre Kommune", "Høje-Taastrup Kommune", "Hørsholm Kommune"),
    *("Ishøj Kommune", "Københavns Kommune", "Lyngby-Taarbæk Kommune", "Tårnby Kommune"),
    *("Vallensbæk Kommune", "Faxe Kommune", "Greve Kommune", "Guldborgsund Kommune"),
    *("Holbæk Kommune", "Kalundborg Kommune", "Køge Kommune", "Lejre Kommune"),
    *("Lolland Kommune", "Næstved Kommune", "Odsherred Kommune", "Ringsted Kommune"),
    *("Roskilde Kommune", "Slagelse Kommune", "Solrød Kommune", "Sorø Kommune"),
    *("Stevns Kommune", "Vordingborg Kommune", "Assens Kommune", "Billund Kommune"),
    *("Esbjerg Kommune", "Fanø Kommune", "Fredericia Kommune", "Faaborg-Midtfyn Kommune"),
    *("Haderslev Kommune", "Kerteminde Kommune", "Kolding Kommune", "Langeland Kommune"),
    *("Middelfart Kommune", "Nordfyns Kommune", "Nyborg Kommune", "Odense Kommune"),
    *("Svendborg Kommune", "Sønderborg Kommune", "Tønder Kommune", "Varde Kommune"),
    *("Vejen Kommune", "Vejle Kommune", "Ærø Kommune", "Aabenraa Kommune"),
    *("Favrskov Kommune", "Hedensted Kommune", "Herning Kommune", "Holstebro Kommune"),
    *("Horsens Kommune", "Ikast-Brande Kommune", "Lemvig Kommune", "Norddjurs Kommune"),
    *("Odder Kommune", "Randers Kommune", "Ringkøbing-Skjern Kommune", "Samsø Kommune"),
    *("Silkeborg Kommune", "Skanderborg Kommune", "Skive Kommune", "Struer Kommune"),
    *("Syddjurs Kommune", "Viborg Kommune", "Aarhus Kommune", "Brønderslev Kommune"),
    *("Frederikshavn Kommune", "Hjørring Kommune", "Jammerbugt Kommune", "Læsø Kommune"),
    *("Mariagerfjord Kommune", "Morsø Kommune", "Rebild Kommune", "Thisted Kommune"),
    *("Vesthimmerland Kommune", "Aalborg Kommune"),
)
#: Other ways people name them ("kbh", "lyngby", "århus").
_OTHER_ALIASES: dict[str, str] = {
    "kbh": "Københavns Kommune",
    "københavn": "Københavns Kommune",
    "bornholm": "Bornholms Regionskommune",
    "nordfyn": "Nordfyns Kommune",
    "lyngby": "Lyngby-Taarbæk Kommune",
    "taastrup": "Høje-Taastrup Kommune",
    "ikast": "Ikast-Brande Kommune",
    "brande": "Ikast-Brande Kommune",
    "ringkøbing": "Ringkøbing-Skjern Kommune",
    "skjern": "Ringkøbing-Skjern Kommune",
    "faaborg": "Faaborg-Midtfyn Kommune",
}
#: Names that are also everyday words ("hele vejen", "en skive") count only
#: when followed by "kommune".
_EVERYDAY_WORDS = frozenset({"vejen", "skive", "greve", "odder", "struer"})


def _fold(text: str) -> str:
    """Lower case with one spelling of æ, ø and å ("Tårnby" and "Taarnby" alike)."""
    text = text.lower().replace("-", " ")
    for letter, plain in (("å", "aa"), ("æ", "ae"), ("ø", "o"), ("oe", "o")):
        text = text.replace(letter, plain)
    return text


def _other_names() -> dict[str, str]:
    names = {name.removesuffix(" Kommune").removesuffix("s Regionskommune"): name for name in OTHER_MUNICIPALITIES}
    return {_fold(short): name for short, name in {**names, **_OTHER_ALIASES}.items()}


_OTHER_NAMES = _other_names()
_OTHER_IN_TEXT = re.compile(
    "|".join(
        rf"\b{re.escape(short)}\b" + (r"(?= kommune\b)" if short in _EVERYDAY_WORDS else "")
        for short in sorted(_OTHER_NAMES, key=len, reverse=True)
    )
)


def find_other_municipality(text: str) -> str | None:
    """The official name of another Danish municipality named in a text, if any."""
    match = _OTHER_IN_TEXT.search(_fold(text))
    return _OTHER_NAMES[match.group()] if match else None
