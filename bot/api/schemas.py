"""Request and response bodies of the chat API, with Danish error messages."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.taxonomy import MUNICIPALITY_CHOICES, Audience, Municipality

MAX_MESSAGE_LENGTH = 2000
#: The conversation id is the only key to a conversation's caseworker
#: messages, so it must not be guessable: 22 characters of this alphabet hold
#: 128 random bits (what the widget uses).
SENDER_PATTERN = r"^[A-Za-z0-9_-]{22,64}$"
SENDER_INVALID = (
    "Samtalens id (sender) er ugyldigt. Det skal være 22-64 tilfældige tegn: bogstaver a-z og A-Z, tal, _ eller -."
)
#: The largest id a client may name (a 32-bit database integer).
MAX_ID = 2**31 - 1
#: Control characters other than line breaks and tabs are dropped from messages.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def readable(text: str) -> bool:
    """False for text that is not valid Unicode (a lone surrogate such as \\ud800)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def valid_sender(value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(SENDER_PATTERN, value):
        return value
    raise ValueError(SENDER_INVALID)


class ChatMetadata(BaseModel):
    model_config = ConfigDict(extra="ignore")

    municipality: Municipality | None = Field(
        default=None, description="ballerup, gladsaxe, rodovre or rudersdal; when missing the assistant asks."
    )
    audience: Audience | None = Field(default=None, description="borger or virksomhed.")
    language: Literal["da"] | None = Field(default=None, description="Only Danish (da) for now.")

    @field_validator("municipality", mode="before")
    @classmethod
    def _known_municipality(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and value in {m.value for m in Municipality}):
            return value
        named = f"«{value[:40]}» " if isinstance(value, str) else ""
        raise ValueError(f"Kommunen {named}kender jeg ikke. Vælg {MUNICIPALITY_CHOICES}.")

    @field_validator("audience", mode="before")
    @classmethod
    def _known_audience(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and value in {a.value for a in Audience}):
            return value
        raise ValueError("Målgruppen skal være «borger» eller «virksomhed».")

    @field_validator("language", mode="before")
    @classmethod
    def _danish(cls, value: Any) -> Any:
        if value is None or value == "da":
            return value
        raise ValueError("Assistenten taler kun dansk (language skal være «da»).")


class ChatRequest(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "sender": "Zk3v9QeR2mXy7LpA1sWd0g",
                    "message": "Hvad er et fleksjob?",
                    "metadata": {"municipality": "gladsaxe"},
                }
            ]
        },
    )

    sender: str = Field(
        description="The conversation id: 22-64 random characters of A-Z a-z 0-9 _ - (at least 128 random bits)."
    )
    message: str = Field(description=f"The user's text, at most {MAX_MESSAGE_LENGTH} characters after trimming.")
    metadata: ChatMetadata = Field(default_factory=ChatMetadata)

    @field_validator("sender", mode="before")
    @classmethod
    def _valid_sender(cls, value: Any) -> Any:
        return valid_sender(value)

    @field_validator("message", mode="before")
    @classmethod
    def _valid_message(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError("Beskeden skal være tekst.")
        if not readable(value):
            raise ValueError("Beskeden indeholder tegn, der ikke kan læses. Skriv den igen.")
        text = _CONTROL.sub("", value).strip()
        if not text:
            raise ValueError("Beskeden er tom. Skriv dit spørgsmål, og send igen.")
        if len(text) > MAX_MESSAGE_LENGTH:
            raise ValueError(
                f"Beskeden er for lang ({len(text)} tegn). "
                f"Den må højst være {MAX_MESSAGE_LENGTH} tegn. Del den gerne op."
            )
        return text


#: The longest comment after a "nej" to "Var svaret en hjælp?".
MAX_COMMENT_LENGTH = 500


class FeedbackComment(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={"examples": [{"sender": "Zk3v9QeR2mXy7LpA1sWd0g", "comment": "Hvem kan jeg ringe til?"}]},
    )

    sender: str = Field(description="The conversation id used in POST /api/chat.")
    comment: str = Field(description=f"What the answer lacked, at most {MAX_COMMENT_LENGTH} characters.")

    @field_validator("sender", mode="before")
    @classmethod
    def _valid_sender(cls, value: Any) -> Any:
        return valid_sender(value)

    @field_validator("comment", mode="before")
    @classmethod
    def _valid_comment(cls, value: Any) -> Any:
        if not isinstance(value, str) or not readable(value):
            raise ValueError("Kommentaren skal være tekst.")
        text = _CONTROL.sub("", value).strip()
        if not text:
            raise ValueError("Kommentaren er tom. Skriv, hvad du manglede, eller spring over.")
        if len(text) > MAX_COMMENT_LENGTH:
            raise ValueError(f"Kommentaren er for lang. Den må højst være {MAX_COMMENT_LENGTH} tegn.")
        return text


class FeedbackThanks(BaseModel):
    text: str


class Button(BaseModel):
    title: str
    payload: str


class BotReply(BaseModel):
    """One bot message, in Rasa's REST output shape."""

    recipient_id: str
    text: str | None = None
    buttons: list[Button] | None = None
    custom: dict[str, Any] | None = None


class ErrorBody(BaseModel):
    detail: str


class RasaInstanceHealth(BaseModel):
    instance: int = Field(description="1 for the first instance (RASA_PORT), 2 for the next port, and so on.")
    status: str = Field(description="ok, unavailable, or no model loaded. One that is not ok gets no turns.")


class Health(BaseModel):
    status: str = Field(description="ok, or degraded when a part below is not ok.")
    rasa: str = Field(description="ok; degraded while some Rasa instances serve and others do not.")
    rasa_instances: list[RasaInstanceHealth] = Field(default_factory=list, description="Each Rasa instance.")
    actions: str
    db: str
    model: str | None = None
    queued_for_rasa: int | None = Field(default=None, description="Tracker events waiting for Rasa.")


class HandoffState(BaseModel):
    """The citizen's open live chat or callback, as their client may show it."""

    status: Literal["waiting", "claimed"]
    channel: Literal["chat", "callback"]
    position: int | None = Field(default=None, description="Place in the queue while waiting (1 = next).")
    caseworker: dict[str, str] | None = Field(default=None, description="first_name and role once claimed.")


class OutboxItem(BotReply):
    id: int = Field(description="Increasing id; ask for messages after the last one you have.")


class Inbox(BaseModel):
    messages: list[OutboxItem]
    handoff: HandoffState | None = None
