"""When caseworkers are online in the chat, per municipality.

Hours are written the way a Danish web page writes them, for example
"man-tor 09:00-15:00; fre 09:00-13:00", and set per municipality in the
OPENING_HOURS setting (bot/settings.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
DAYS = ("man", "tir", "ons", "tor", "fre", "lør", "søn")
DAY_NAMES = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")
_SEGMENT = re.compile(r"^(?P<first>[a-zø]{3})(-(?P<last>[a-zø]{3}))? (?P<open>\d{2}:\d{2})-(?P<close>\d{2}:\d{2})$")


@dataclass(frozen=True)
class Segment:
    days: frozenset[int]
    opens: time
    closes: time
    text: str


def _clock(value: str) -> time:
    return time.max if value == "24:00" else time.fromisoformat(value)


def parse_hours(spec: str) -> tuple[Segment, ...]:
    """Parse "man-tor 09:00-15:00; fre 09:00-13:00"; raise ValueError if malformed."""
    segments = []
    for raw in filter(None, (part.strip() for part in spec.split(";"))):
        match = _SEGMENT.match(raw)
        if not match or match["first"] not in DAYS or (match["last"] and match["last"] not in DAYS):
            raise ValueError(f"opening hours must look like 'man-tor 09:00-15:00', not {raw!r}")
        first = DAYS.index(match["first"])
        last = DAYS.index(match["last"]) if match["last"] else first
        opens, closes = _clock(match["open"]), _clock(match["close"])
        if last < first or closes <= opens:
            raise ValueError(f"opening hours {raw!r} run backwards")
        days = " til ".join(dict.fromkeys((DAY_NAMES[first], DAY_NAMES[last])))
        segments.append(
            Segment(
                days=frozenset(range(first, last + 1)),
                opens=opens,
                closes=closes,
                text=f"{days} kl. {match['open']}-{match['close']}",
            )
        )
    if not segments:
        raise ValueError("opening hours are empty")
    return tuple(segments)


def is_open(spec: str, now: datetime | None = None) -> bool:
    moment = (now or datetime.now(COPENHAGEN)).astimezone(COPENHAGEN)
    return any(moment.weekday() in s.days and s.opens <= moment.time() < s.closes for s in parse_hours(spec))


def describe(spec: str) -> str:
    """The hours in plain Danish: "mandag til torsdag kl. 09:00-15:00 og fredag kl. 09:00-13:00"."""
    texts = [s.text for s in parse_hours(spec)]
    return " og ".join([", ".join(texts[:-1]), texts[-1]]) if len(texts) > 1 else "".join(texts)
