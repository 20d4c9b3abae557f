"""Thin Rasa custom actions: read the tracker, call bot.dialogue, dispatch.

All wording and decisions live in bot/dialogue; these classes only translate
between Rasa's tracker and that package.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, EventType, Restarted, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.dialogue import slots, turns
from bot.dialogue.audience import infer_audience
from bot.dialogue.feedback import HELPFUL, NOT_HELPFUL, answered_question, typed_helpful
from bot.dialogue.turns import Context, Reply
from bot.knowledge.service import get_engine
from bot.taxonomy import Audience, Municipality, find_municipality, parse_municipality

DomainDict = dict[str, Any]


def _metadata(tracker: Tracker) -> dict[str, Any]:
    return (tracker.latest_message or {}).get("metadata") or {}


def _text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def _audience(value: Any) -> Audience | None:
    try:
        return Audience(value) if value else None
    except ValueError:
        return None


def _municipality(value: Any) -> Municipality | None:
    return parse_municipality(value) if isinstance(value, str) else None


def context_of(tracker: Tracker) -> Context:
    """What the conversation knows: municipality, audience, failed turns, and
    its subject (the last answered question and its article)."""
    text = _text(tracker)
    metadata = _metadata(tracker)
    typed = "" if text.startswith("/") else text  # a button payload names no municipality
    municipality = (
        find_municipality(typed)
        or _municipality(tracker.get_slot(slots.MUNICIPALITY))
        or _municipality(metadata.get("municipality"))
    )
    # Clear employer wording in this message wins over the page's default
    # ("borger") and over what an earlier turn assumed.
    audience = (
        infer_audience(text) or _audience(tracker.get_slot(slots.AUDIENCE)) or _audience(metadata.get("audience"))
    )
    streak = int(tracker.get_slot(slots.FALLBACK_STREAK) or 0)
    latest = tracker.latest_message or {}
    intent = (latest.get("intent") or {}).get("name")
    nlu_sure, leans_out_of_scope = turns.nlu_signals(intent, latest.get("intent_ranking") or [])
    return Context(
        text,
        municipality,
        audience,
        streak,
        nlu_sure,
        last_question=tracker.get_slot(slots.LAST_QUESTION),
        last_article=tracker.get_slot(slots.LAST_ARTICLE),
        leans_out_of_scope=leans_out_of_scope,
        queue_position=_position(metadata.get(turns.QUEUE_POSITION)),
    )


def _position(value: Any) -> int | None:
    return value if isinstance(value, int) and value > 0 else None


def _remembered(ctx: Context) -> dict[str, Any]:
    """Slots for the municipality and audience this turn used."""
    remembered: dict[str, Any] = {}
    if ctx.municipality:
        remembered[slots.MUNICIPALITY] = ctx.municipality.value
    if ctx.audience:
        remembered[slots.AUDIENCE] = ctx.audience.value
    return remembered


def send(dispatcher: CollectingDispatcher, reply: Reply, ctx: Context | None = None) -> list[EventType]:
    if ctx and ctx.queue_position:
        reply = turns.in_queue(reply, ctx.queue_position)
    for message in reply.messages:
        dispatcher.utter_message(**message.dispatch_kwargs())
    changed = {**(_remembered(ctx) if ctx else {}), **reply.slots}
    return [SlotSet(name, value) for name, value in changed.items()]


#: Slots a new session does not carry over: a user back after a while has
#: no follow-up to the answer they got last time.
NOT_CARRIED = frozenset({slots.SESSION_METADATA, slots.LAST_QUESTION, slots.LAST_ARTICLE})


class ActionSessionStart(Action):
    """Start a session: keep earlier slots but the last subject, then take
    municipality and audience from the widget's metadata."""

    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        events: list[EventType] = [SessionStarted()]
        carried = {k: v for k, v in tracker.slots.items() if v is not None and k not in NOT_CARRIED}
        metadata = tracker.get_slot(slots.SESSION_METADATA) or {}
        municipality = _municipality(metadata.get("municipality"))
        audience = _audience(metadata.get("audience"))
        if municipality:
            carried[slots.MUNICIPALITY] = municipality.value
        if audience:
            carried[slots.AUDIENCE] = audience.value
        events += [SlotSet(name, value) for name, value in carried.items()]
        events.append(ActionExecuted("action_listen"))
        return events


class ActionAnswer(Action):
    def name(self) -> str:
        return "action_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        ctx = context_of(tracker)
        article_id = next(tracker.get_latest_entity_values("article_id"), None)
        return send(dispatcher, turns.question(get_engine(), ctx, article_id), ctx)


class ActionSetMunicipality(Action):
    def name(self) -> str:
        return "action_set_municipality"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        ctx = context_of(tracker)
        entity = _municipality(next(tracker.get_latest_entity_values("municipality"), None))
        chosen = entity or find_municipality(ctx.text)
        ctx = dataclasses.replace(ctx, municipality=chosen)
        reply = turns.set_municipality(get_engine(), ctx, tracker.get_slot(slots.PENDING_QUESTION))
        return send(dispatcher, reply)


class ActionSetAudience(Action):
    def name(self) -> str:
        return "action_set_audience"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        audience = _audience(next(tracker.get_latest_entity_values("audience"), None))
        ctx = context_of(tracker)
        return send(dispatcher, turns.set_audience(get_engine(), ctx, audience))


class ActionFallback(Action):
    def name(self) -> str:
        return "action_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        ctx = context_of(tracker)
        return send(dispatcher, turns.fallback(get_engine(), ctx), ctx)


class ActionOutOfScope(Action):
    def name(self) -> str:
        return "action_out_of_scope"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        ctx = context_of(tracker)
        return send(dispatcher, turns.out_of_scope(get_engine(), ctx), ctx)


class ActionCrisis(Action):
    def name(self) -> str:
        return "action_crisis"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        # Crisis ends any form: the emergency numbers come first.
        reply = turns.crisis()
        return [*send(dispatcher, reply, context_of(tracker)), ActiveLoop(None), SlotSet(slots.REQUESTED_SLOT, None)]


class ActionPersonalCase(Action):
    def name(self) -> str:
        return "action_personal_case"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        ctx = context_of(tracker)
        return send(dispatcher, turns.personal_case(get_engine(), ctx), ctx)


class ActionComplaint(Action):
    def name(self) -> str:
        return "action_complaint"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        ctx = context_of(tracker)
        return send(dispatcher, turns.complaint(get_engine(), ctx), ctx)


class ActionFeedback(Action):
    def name(self) -> str:
        return "action_feedback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        # The buttons send ja or nej; typed feedback is read from its words
        # (the model's entity may hold any phrase, such as "dårligt").
        helpful = next(tracker.get_latest_entity_values("helpful"), None)
        if helpful not in (HELPFUL, NOT_HELPFUL):
            helpful = typed_helpful(_text(tracker))
        article_id = tracker.get_slot(slots.LAST_ARTICLE)
        question = answered_question(tracker.events, article_id) if helpful == NOT_HELPFUL else None
        return send(dispatcher, turns.feedback(helpful, article_id, question))


class ActionDeny(Action):
    def name(self) -> str:
        return "action_deny"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        return send(dispatcher, turns.deny(_text(tracker)))


class ActionDeclineHandoff(Action):
    def name(self) -> str:
        return "action_decline_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        return send(dispatcher, turns.decline_handoff(_text(tracker)))


class ActionRestart(Action):
    """Replaces Rasa's built-in restart so the user is told what happened."""

    def name(self) -> str:
        return "action_restart"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        return [*send(dispatcher, turns.restarted()), Restarted()]
