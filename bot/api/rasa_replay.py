"""A turn's reply, read back from Rasa's tracker.

When a Rasa instance dies after it saved a turn but before it answered, the
reply is lost on the wire but its events are in the shared tracker store.
The front door finds the turn by the message id it sent with it, and
rebuilds the reply exactly as Rasa's collecting output channel (which our
front-door channel answers with) would have sent it: each bot utterance as
text (split at blank lines) or text with buttons, then its custom part, then
its image (rasa/core/channels/channel.py, OutputChannel.send_response).
"""

from __future__ import annotations

from typing import Any


def reply_of(events: list[dict[str, Any]], message_id: str) -> list[dict[str, Any]] | None:
    """The bot messages of the turn whose user message has `message_id`;
    None when the tracker does not hold that turn."""
    starts = [
        i for i, event in enumerate(events) if event.get("event") == "user" and event.get("message_id") == message_id
    ]
    if not starts:
        return None
    reply: list[dict[str, Any]] = []
    for event in events[starts[0] + 1 :]:
        if event.get("event") == "user":
            break
        if event.get("event") == "bot":
            reply += sent(event)
    return reply


def sent(event: dict[str, Any]) -> list[dict[str, Any]]:
    """What the collecting output channel sends for one bot utterance."""
    message = {**(event.get("data") or {}), "text": event.get("text"), **(event.get("metadata") or {})}
    text, buttons = message.get("text"), message.get("quick_replies") or message.get("buttons")
    out: list[dict[str, Any]] = []
    if buttons:
        out.append(_without_none({"text": text, "buttons": buttons}))
    elif text:
        out += [{"text": part} for part in text.strip().split("\n\n")]
    if message.get("custom"):
        out.append({"custom": message["custom"]})
    if message.get("image"):
        out.append({"image": message["image"]})
    return out


def _without_none(message: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in message.items() if value is not None}
