"""The dialogue layer alone, as a quick stand-in for the chat in bench.e2e.

    python -m bench.e2e --dialogue-only     (seconds instead of minutes)

Calls bot.dialogue.turns as the custom actions do and keeps each
conversation's slots, but without Rasa: every message is read as a sure
question (`ask_question`), except a message that is only a municipality's
name (`inform_municipality`). The NLU model's misreadings are left out, so
this shows what a change to retrieval or the dialogue does; `make
bench-e2e` gives the numbers to report.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import Any

from bench.chat import Turn
from bot.dialogue import slots, turns
from bot.dialogue.audience import infer_audience
from bot.dialogue.turns import Context, Reply
from bot.knowledge.engine import Engine
from bot.taxonomy import Audience, Municipality, find_municipality, parse_municipality


class DialogueOnly:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.slots: dict[str, dict[str, Any]] = defaultdict(dict)

    def __call__(self, sender: str, text: str, metadata: dict[str, str]) -> Turn:
        known = self.slots[sender]
        ctx = self._context(known, text, metadata)
        named = parse_municipality(text)
        if named:
            pending = known.get(slots.PENDING_QUESTION)
            reply = turns.set_municipality(self.engine, dataclasses.replace(ctx, municipality=named), pending)
        else:
            reply = turns.question(self.engine, ctx)
        self._remember(known, ctx, reply)
        return Turn([_as_sent(m) for m in reply.messages], 0.0)

    @staticmethod
    def _context(known: dict[str, Any], text: str, metadata: dict[str, str]) -> Context:
        municipality = known.get(slots.MUNICIPALITY) or metadata.get("municipality")
        audience = known.get(slots.AUDIENCE) or metadata.get("audience")
        return Context(
            text,
            find_municipality(text) or (Municipality(municipality) if municipality else None),
            infer_audience(text) or (Audience(audience) if audience else None),
            int(known.get(slots.FALLBACK_STREAK) or 0),
            nlu_sure=True,
            last_question=known.get(slots.LAST_QUESTION),
            last_article=known.get(slots.LAST_ARTICLE),
        )

    @staticmethod
    def _remember(known: dict[str, Any], ctx: Context, reply: Reply) -> None:
        if ctx.municipality:
            known[slots.MUNICIPALITY] = ctx.municipality.value
        if ctx.audience:
            known[slots.AUDIENCE] = ctx.audience.value
        known.update(reply.slots)


def _as_sent(message: Any) -> dict[str, Any]:
    kwargs = message.dispatch_kwargs()
    return {"text": kwargs.get("text"), "buttons": kwargs.get("buttons"), "custom": kwargs.get("json_message") or {}}
