"""The bot message type and the chat-API `kind` values."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Kind(str, Enum):
    """What a bot turn is. Exactly one message per turn carries it."""

    ANSWER = "answer"
    CLARIFY = "clarify"
    HANDOFF = "handoff"
    CRISIS = "crisis"
    OUT_OF_SCOPE = "out_of_scope"
    FALLBACK = "fallback"
    SMALLTALK = "smalltalk"
    FORM = "form"
    #: The chat is closed for maintenance (the front door answers, not Rasa).
    CLOSED = "closed"


@dataclass(frozen=True)
class Button:
    title: str
    payload: str

    def as_dict(self) -> dict[str, str]:
        return {"title": self.title, "payload": self.payload}


@dataclass(frozen=True)
class BotMessage:
    """One message in Rasa's REST output shape (text, buttons, custom)."""

    text: str | None = None
    buttons: tuple[Button, ...] = ()
    custom: dict[str, Any] = field(default_factory=dict)

    def as_rest(self) -> dict[str, Any]:
        """The message in the chat API's shape (Rasa's REST output, without recipient)."""
        rest: dict[str, Any] = {"text": self.text} if self.text else {}
        if self.buttons:
            rest["buttons"] = [b.as_dict() for b in self.buttons]
        if self.custom:
            rest["custom"] = self.custom
        return rest

    def dispatch_kwargs(self) -> dict[str, Any]:
        """Arguments for rasa_sdk's `dispatcher.utter_message`."""
        kwargs: dict[str, Any] = {}
        if self.text:
            kwargs["text"] = self.text
        if self.buttons:
            kwargs["buttons"] = [b.as_dict() for b in self.buttons]
        if self.custom:
            kwargs["json_message"] = self.custom
        return kwargs


def intent_payload(intent: str, **entities: str) -> str:
    """A button payload that triggers an intent with entities, e.g. /x{"a":"b"}."""
    if not entities:
        return f"/{intent}"
    inner = ",".join(f'"{key}":"{value}"' for key, value in entities.items())
    return f"/{intent}{{{inner}}}"
