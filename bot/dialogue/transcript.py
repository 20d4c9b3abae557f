"""The conversation so far, read from Rasa tracker events, for a caseworker."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.taxonomy import Author

#: Button payloads like /give_feedback{"helpful":"ja"} are shown as what they mean.
_PAYLOAD_LABELS = {
    "/give_feedback": "(knap: svar på «Var svaret en hjælp?»)",
    "/request_human": "(knap: Tal med en medarbejder)",
}


@dataclass
class Transcript:
    lines: list[tuple[Author, str]] = field(default_factory=list)
    article_ids: list[str] = field(default_factory=list)
    topic: str | None = None


def shown_text(text: str) -> str:
    """What a citizen's message means to a caseworker: a button payload
    (/request_human) becomes its label."""
    if text.startswith("/"):
        name = text.split("{", 1)[0]
        return _PAYLOAD_LABELS.get(name, f"(knap: {name.lstrip('/')})")
    return text


def read_transcript(events: list[dict[str, Any]]) -> Transcript:
    """User and bot texts in order, the articles the bot answered with, and the last topic."""
    transcript = Transcript()
    for event in events:
        kind = event.get("event")
        if kind == "user" and event.get("text"):
            transcript.lines.append((Author.CITIZEN, shown_text(event["text"])))
        elif kind == "bot":
            custom = (event.get("data") or {}).get("custom") or {}
            if event.get("text"):
                transcript.lines.append((Author.BOT, event["text"]))
            if custom.get("article_id"):
                transcript.article_ids.append(custom["article_id"])
                transcript.topic = custom.get("topic") or transcript.topic
    transcript.article_ids = list(dict.fromkeys(transcript.article_ids))
    return transcript


def previous_user_text(events: list[dict[str, Any]]) -> str | None:
    """What the citizen wrote in the turn before the latest one."""
    texts = [event.get("text") for event in events if event.get("event") == "user"]
    return texts[-2] if len(texts) >= 2 else None
