"""A safety net for crisis wording, independent of the NLU model.

The NLU model has a `crisis` intent; this list catches the clearest
self-harm wording even when the model is unsure or predicts something else,
so that such a message always gets the emergency numbers first.
"""

from __future__ import annotations

import re

#: Where to get help at once (numbers from the national fact sheet, "Safety").
EMERGENCY_LINES = "Er du i fare lige nu, så ring 112.\nHar du tanker om selvmord, så ring til Livslinien på 70 201 201."

_CRISIS = re.compile(
    r"selvmord|suicid|selvskade|afskedsbrev"
    r"|tager? (jeg )?(mit|mig|sit) (eget )?liv|tage livet af mig|tager jeg livet af mig|ende mit liv"
    r"|(mig|sig) selv ihjel|dræbe mig selv|hænge mig|skyde mig"
    r"|(springe|hoppe|kaste mig) ud (foran|fra)|vil springe(?! over)\b"
    r"|(skade|skader|gøre skade på|skære i|skærer i|skåret i|brænder|slår) mig selv|skære mig\b|skærer i armene"
    r"|(gør|gøre) (noget )?ved mig selv|gøre mig selv noget"
    r"|ikke (at )?leve (mere|længere)|vil ikke (fortsætte med at )?leve\b|holde ud at leve"
    r"|livet giver ingen mening|orke at leve|orker ikke (at )?leve|ikke lyst til at leve"
    r"|(ikke noget|intet|ingen grund til|pointen med) at leve|blive ved med at leve|træt af (livet|at være i live)"
    r"|ikke (lyst til )?(at )?være (i live|her (mere|længere)|til (mere|længere))"
    r"|(vil|ønsker at|har lyst til at) (bare )?dø\b|(til|end|på|om) at dø\b|ønsker? jeg var død|(bare|hellere) være død"
    r"|gøre en ende på (det hele|det(?! \w)|mit liv|livet)|ende det hele"
    r"|bedre uden mig|savne mig|hvis jeg (forsvandt|døde|ikke fandtes)|forsvinde for altid|aldrig vågne"
    r"|øjnene for altid|ikke lyst til at vågne|(en byrde|til besvær) for alle|på skinnerne"
    r"|(alle mine|for mange|nok|en masse) piller|piller (sammen|med vilje)|(et|mit) reb\b"
    r"|kill (myself|me)|end my life|hurt myself|want to die|(do not|don'?t) want to live"
    r"|bange for mit liv|truet mig på livet|truer med at slå mig|i akut fare|ikke i sikkerhed|min egen sikkerhed"
    r"|bliver slået|slår mig og",
    re.IGNORECASE,
)


#: "Jeg har det ikke godt", "jeg har det rigtig skidt": how someone says they
#: feel unwell. The NLU model may read it as a plain "no".
_UNWELL = re.compile(
    r"\bhar det (?:(?:rigtig|virkelig|meget|så|helt) )?"
    r"(?:ikke (?:så |særlig |specielt )?godt|dårligt|skidt|elendigt|forfærdeligt)\b",
    re.IGNORECASE,
)


def is_crisis(text: str) -> bool:
    """True when the text contains clear self-harm or suicide wording."""
    return bool(_CRISIS.search(text))


def says_unwell(text: str) -> bool:
    """True when the user says they feel unwell ("jeg har det ikke godt")."""
    return bool(_UNWELL.search(text))
