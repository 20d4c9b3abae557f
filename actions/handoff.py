"""Thin actions for the handoff to a caseworker (form, submit, cancel)."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.actions import DomainDict, context_of, send
from bot.dialogue import handoff, slots, turns
from bot.dialogue.contact import contact_route
from bot.dialogue.messages import Kind
from bot.dialogue.transcript import previous_user_text, read_transcript
from bot.dialogue.turns import Reply
from bot.handoff.service import NewCase, open_or_update_case
from bot.knowledge.service import get_engine
from bot.logs import get_logger
from bot.opening_hours import is_open
from bot.safety import is_crisis
from bot.settings import DEFAULT_OPENING_HOURS, get_settings
from bot.storage.db import session_scope, with_retry
from bot.taxonomy import Author, Channel, HandoffReason, Municipality, parse_municipality

RESET_FORM = [SlotSet(name, None) for name in slots.HANDOFF_FORM]
log = get_logger("bot.actions")


def _municipality(tracker: Tracker) -> Municipality | None:
    return parse_municipality(tracker.get_slot(slots.MUNICIPALITY) or "")


def _hours(tracker: Tracker) -> str:
    """The chat's opening hours in the user's municipality (asked before the channel)."""
    municipality = _municipality(tracker)
    return get_settings().opening_hours[municipality] if municipality else DEFAULT_OPENING_HOURS


def _dispatch_problem(dispatcher: CollectingDispatcher, problem: str | None) -> None:
    if problem:
        dispatcher.utter_message(text=problem, json_message={"kind": Kind.FORM.value, "invalid": True})


class ActionRequestHuman(Action):
    """Start the handoff: record why, pick the team, introduce the form."""

    def name(self) -> str:
        return "action_request_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        ctx = context_of(tracker)
        if ctx.queue_position:  # already waiting: no second form, no second case
            return [*send(dispatcher, turns.queued(ctx.queue_position)), FollowupAction("action_listen")]
        accepted_offer = tracker.get_slot(slots.HANDOFF_OFFERED) and tracker.get_intent_of_latest_message() == "affirm"
        reason = _reason(tracker.get_slot(slots.HANDOFF_REASON) if accepted_offer else None)
        team = handoff.team_for(ctx.audience, ctx.text)
        chosen: dict[str, Any] = {slots.HANDOFF_REASON: reason.value, slots.HANDOFF_OFFERED: False}
        if ctx.municipality:
            chosen[slots.MUNICIPALITY] = ctx.municipality.value
        return [*send(dispatcher, Reply(handoff.intro_for(team, ctx.text), chosen)), *RESET_FORM]


class ActionAskHandoffChannel(Action):
    def name(self) -> str:
        return "action_ask_handoff_channel"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        hours = _hours(tracker)
        return send(dispatcher, Reply([handoff.ask_channel(hours, is_open(hours))]))


class _AskAction(Action):
    """Ask for one form slot with a fixed message."""

    slot = ""
    message = staticmethod(handoff.ask_municipality)

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        return send(dispatcher, Reply([self.message()]))


class ActionAskMunicipality(_AskAction):
    slot = slots.MUNICIPALITY
    message = staticmethod(handoff.ask_municipality)


class ActionAskContactName(_AskAction):
    slot = slots.CONTACT_NAME
    message = staticmethod(handoff.ask_name)


class ActionAskContactInfo(_AskAction):
    slot = slots.CONTACT_INFO
    message = staticmethod(handoff.ask_contact)


class ActionAskHandoffDescription(_AskAction):
    slot = slots.HANDOFF_DESCRIPTION
    message = staticmethod(handoff.ask_description)


class ValidateHandoffForm(FormValidationAction):
    def name(self) -> str:
        return "validate_handoff_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        channel, municipality = tracker.get_slot(slots.HANDOFF_CHANNEL), tracker.get_slot(slots.MUNICIPALITY)
        return handoff.required_slots(channel, bool(municipality))

    def _checked(self, slot: str, checked: handoff.Checked, dispatcher: CollectingDispatcher) -> dict[str, Any]:
        _dispatch_problem(dispatcher, checked.problem)
        return {slot: checked.value}

    def _digression(self, slot: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any] | None:
        """Answer a question typed instead of the form's answer; the form then asks again."""
        reply = turns.form_digression(get_engine(), context_of(tracker))
        if reply is None:
            return None
        send(dispatcher, reply)
        return {slot: None, **reply.slots}

    def _repeated(
        self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any] | None:
        """The message before, sent again, is not this step's answer (a
        repeated question is answered again). None when the message is new."""
        checked = handoff.check_not_repeated(str(value), previous_user_text(tracker.events))
        if checked is None:
            return None
        return self._digression(slot, dispatcher, tracker) or self._checked(slot, checked, dispatcher)

    def _checked_or_answered(
        self, slot: str, checked: handoff.Checked, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """A rejected form answer may be a question: answer it, else say what is wrong."""
        if checked.value is None:
            answered = self._digression(slot, dispatcher, tracker)
            if answered:
                return answered
        return self._checked(slot, checked, dispatcher)

    def validate_municipality(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._checked(slots.MUNICIPALITY, handoff.check_municipality(str(value)), dispatcher)

    def validate_handoff_channel(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        hours = _hours(tracker)
        checked = handoff.check_channel(str(value), is_open(hours), hours)
        return self._checked_or_answered(slots.HANDOFF_CHANNEL, checked, dispatcher, tracker)

    def validate_contact_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # A question is never a name, so it is answered before the name is checked.
        return (
            self._repeated(slots.CONTACT_NAME, value, dispatcher, tracker)
            or self._digression(slots.CONTACT_NAME, dispatcher, tracker)
            or self._checked(slots.CONTACT_NAME, handoff.check_name(str(value)), dispatcher)
        )

    def validate_contact_info(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._repeated(slots.CONTACT_INFO, value, dispatcher, tracker) or self._checked_or_answered(
            slots.CONTACT_INFO, handoff.check_contact(str(value)), dispatcher, tracker
        )

    def validate_handoff_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._repeated(slots.HANDOFF_DESCRIPTION, value, dispatcher, tracker) or self._checked(
            slots.HANDOFF_DESCRIPTION, handoff.check_description(str(value)), dispatcher
        )


def _reason(value: Any) -> HandoffReason:
    try:
        return HandoffReason(value)
    except ValueError:
        return HandoffReason.REQUEST_HUMAN


def _new_case(tracker: Tracker) -> NewCase:
    ctx = context_of(tracker)
    municipality = _municipality(tracker)
    if municipality is None:
        raise ValueError("the handoff form always asks for the municipality")
    transcript = read_transcript(tracker.events)
    description = tracker.get_slot(slots.HANDOFF_DESCRIPTION) or ""
    reason = HandoffReason.CRISIS if is_crisis(description) else _reason(tracker.get_slot(slots.HANDOFF_REASON))
    contact = tracker.get_slot(slots.CONTACT_INFO)
    name = tracker.get_slot(slots.CONTACT_NAME)
    # The team follows the audience, or an employer's words anywhere in the
    # conversation ("virksomhedskonsulent").
    citizen_lines = " ".join(text for author, text in transcript.lines if author is Author.CITIZEN)
    return NewCase(
        sender=tracker.sender_id,
        municipality=municipality,
        team=handoff.team_for(ctx.audience, citizen_lines),
        channel=Channel(tracker.get_slot(slots.HANDOFF_CHANNEL)),
        reason=reason,
        topic=transcript.topic,
        article_ids=transcript.article_ids,
        transcript=[*transcript.lines, (Author.SYSTEM, handoff.opened_line(reason))],
        description=description,
        contact_name=None if name in (None, handoff.SKIPPED) else name,
        contact_phone=contact if contact and "@" not in contact else None,
        contact_email=contact if contact and "@" in contact else None,
    )


def _store(new: NewCase) -> int:
    """Open the case (or update the open live chat); return the queue position."""
    with session_scope() as session:
        return open_or_update_case(session, new)[1]


class ActionSubmitHandoff(Action):
    """Open the case (live chat queue or callback list) and confirm.

    The database work runs in a thread (a locked database must not stop the
    action server's other turns) and is retried briefly. If the case still
    cannot be stored, the citizen is told so, the form's answers stay in
    the tracker, and the "Prøv igen" button sends them again."""

    def name(self) -> str:
        return "action_submit_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if not tracker.get_slot(slots.HANDOFF_CHANNEL):
            return send(dispatcher, Reply([handoff.nothing_to_send()]))
        new = _new_case(tracker)
        try:
            position = await asyncio.to_thread(with_retry, partial(_store, new))
        except SQLAlchemyError as exc:
            log.warning("handoff_not_stored", error=type(exc).__name__)
            return send(dispatcher, Reply([handoff.not_stored(contact_route(get_engine().kb, new.municipality))]))
        contact = new.contact_phone or new.contact_email
        confirmation = handoff.submitted(new.channel, contact, position, urgent=new.reason is HandoffReason.CRISIS)
        reply = Reply([confirmation], {slots.HANDOFF_REASON: None})
        return [*send(dispatcher, reply), *RESET_FORM]


class ActionCancelHandoff(Action):
    def name(self) -> str:
        return "action_cancel_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        reply = Reply([handoff.cancelled()], {slots.HANDOFF_REASON: None})
        return [*send(dispatcher, reply), *RESET_FORM, ActiveLoop(None), SlotSet(slots.REQUESTED_SLOT, None)]
