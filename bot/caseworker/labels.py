"""Danish words the caseworker app shows for codes in the database."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from bot.taxonomy import TOPIC_LABELS, HandoffReason, Team, Topic

LABELS: dict[str, Any] = {
    "status": {"waiting": "Venter", "claimed": "Taget", "closed": "Lukket"},
    "channel": {"chat": "Chat nu", "callback": "Ring eller skriv"},
    "team": {team.value: team.label for team in Team},
    "author": {
        "citizen": "Borger",
        "bot": "Assistenten",
        "caseworker": "Medarbejder",
        "system": "System",
        "note": "Privat note",
    },
    "priority": {1: "Akut", 2: "Høj", 3: "Normal"},
    "csrf": "Formularen var for gammel. Gå tilbage, genindlæs siden og prøv igen.",
    "bad_login": "Forkert brugernavn eller adgangskode.",
    "login_required": "Du er ikke logget ind.",
    "not_found": "Sagen findes ikke, eller du har ikke adgang til den.",
    "not_allowed": "Du har ikke adgang til denne side.",
    "role": {"caseworker": "Sagsbehandler", "curator": "Redaktør", "admin": "Administrator"},
    "notices": {
        "optaget": "En anden medarbejder har allerede taget sagen.",
        "ikke-din": "Du kan kun skrive i og lukke sager, som du selv har taget.",
        "lukket": "Sagen er lukket. Borgeren taler nu med assistenten igen.",
        "chat-lukket": "Chatten er lukket. Brugerne får beskeden og kommunens kontaktoplysninger.",
        "chat-aaben": "Chatten er åben igen.",
    },
}


def reason_label(reason: str) -> str:
    try:
        return HandoffReason(reason).label
    except ValueError:
        return reason


def topic_label(topic: str | None) -> str:
    try:
        return TOPIC_LABELS[Topic(topic)] if topic else "Ikke kendt"
    except ValueError:
        return topic or "Ikke kendt"


def throttled_label(wait: timedelta) -> str:
    """The message when logins must wait: the wait in whole minutes, rounded up."""
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    return f"For mange forkerte forsøg. Vent {'1 minut' if minutes == 1 else f'{minutes} minutter'}, og prøv igen."
