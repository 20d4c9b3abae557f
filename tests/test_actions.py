"""Every custom action, run with a real rasa_sdk Tracker and CollectingDispatcher.

The knowledge base is the real one in knowledge/; action_submit_handoff
writes to the test database (migrated with Alembic, see conftest.py).
"""

from __future__ import annotations

import inspect
import secrets
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, FollowupAction, Restarted, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.orm import selectinload

import actions.actions
import actions.handoff
from actions.actions import (
    ActionAnswer,
    ActionComplaint,
    ActionCrisis,
    ActionDeclineHandoff,
    ActionDeny,
    ActionFallback,
    ActionFeedback,
    ActionOutOfScope,
    ActionPersonalCase,
    ActionRestart,
    ActionSessionStart,
    ActionSetAudience,
    ActionSetMunicipality,
)
from actions.handoff import (
    ActionAskContactInfo,
    ActionAskContactName,
    ActionAskHandoffChannel,
    ActionAskHandoffDescription,
    ActionAskMunicipality,
    ActionCancelHandoff,
    ActionRequestHuman,
    ActionSubmitHandoff,
    ValidateHandoffForm,
)
from bot.dialogue.answers import FEEDBACK_PROMPT
from bot.dialogue.handoff import CALL_ME, CHAT_NOW
from bot.handoff.service import queue_position
from bot.knowledge.service import get_engine
from bot.storage.db import session_scope
from bot.storage.models import Author, CaseStatus, Channel, HandoffCase
from bot.taxonomy import Audience, Municipality, Team

ROOT = Path(__file__).resolve().parent.parent
DOMAIN: dict[str, Any] = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
FORM_SLOTS = ["handoff_channel", "contact_name", "contact_info", "handoff_description"]
RESET_FORM = [SlotSet(name, None) for name in FORM_SLOTS]


def initial_slots() -> dict[str, Any]:
    """The slots as Rasa starts them: the domain's initial values, else None."""
    slots = {name: spec.get("initial_value") for name, spec in DOMAIN["slots"].items()}
    return {**slots, "requested_slot": None, "session_started_metadata": None}


def make_tracker(
    text: str = "",
    *,
    slots: dict[str, Any] | None = None,
    intent: str = "ask_question",
    entities: dict[str, str] | None = None,
    metadata: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
    active_loop: dict[str, Any] | None = None,
    sender_id: str | None = None,
) -> Tracker:
    latest_message = {
        "text": text,
        "intent": {"name": intent, "confidence": 1.0},
        "intent_ranking": [{"name": intent, "confidence": 1.0}],
        "entities": [{"entity": name, "value": value} for name, value in (entities or {}).items()],
        "metadata": metadata or {},
    }
    return Tracker(
        sender_id=sender_id or f"test-{secrets.token_urlsafe(16)}",
        slots={**initial_slots(), **(slots or {})},
        latest_message=latest_message,
        events=events or [],
        paused=False,
        followup_action=None,
        active_loop=active_loop or {},
        latest_action_name="action_listen",
    )


async def run(action: Action, tracker: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run an action; return what it dispatched and the events it returned."""
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, DOMAIN)
    return dispatcher.messages, events


def kinds(messages: list[dict[str, Any]]) -> list[str]:
    return [m["custom"]["kind"] for m in messages if m.get("custom", {}).get("kind")]


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


# -- every action in the domain is implemented -------------------------------


def test_every_custom_action_in_the_domain_is_implemented_once() -> None:
    names = [
        cls().name()
        for module in (actions.actions, actions.handoff)
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, Action) and cls.__module__ == module.__name__ and not cls.__name__.startswith("_")
    ]
    assert len(names) == len(set(names))
    assert sorted(names) == sorted(DOMAIN["actions"])


# -- session start -----------------------------------------------------------


async def test_session_start_takes_municipality_and_audience_from_metadata() -> None:
    tracker = make_tracker(slots={"session_started_metadata": {"municipality": "Rødovre", "audience": "virksomhed"}})
    messages, events = await run(ActionSessionStart(), tracker)
    assert messages == []
    assert events[0] == SessionStarted()
    assert events[-1] == ActionExecuted("action_listen")
    slots = slot_events(events)
    assert slots["municipality"] == "rodovre"
    assert slots["audience"] == "virksomhed"
    assert "session_started_metadata" not in slots


async def test_session_start_keeps_earlier_slots_and_ignores_unknown_metadata() -> None:
    tracker = make_tracker(
        slots={"municipality": "gladsaxe", "session_started_metadata": {"municipality": "aarhus", "audience": "robot"}}
    )
    _, events = await run(ActionSessionStart(), tracker)
    slots = slot_events(events)
    assert slots["municipality"] == "gladsaxe"
    assert "audience" not in slots


async def test_session_start_drops_the_last_subject() -> None:
    subject = {"last_question": "hvad er fleksjob", "last_article_id": "alle-fleksjob-hvem-kan-faa"}
    slots = {"municipality": "ballerup", **subject}
    _, events = await run(ActionSessionStart(), make_tracker(slots=slots))
    assert slot_events(events) == {"municipality": "ballerup", "fallback_streak": 0, "handoff_offered": False}


async def test_session_start_without_metadata_sets_no_municipality() -> None:
    _, events = await run(ActionSessionStart(), make_tracker())
    assert "municipality" not in slot_events(events)
    assert events[0] == SessionStarted()


# -- answering ---------------------------------------------------------------


async def test_answer_with_known_municipality_dispatches_a_cited_answer_and_feedback() -> None:
    tracker = make_tracker("Hvad er et fleksjob?", slots={"municipality": "rodovre"})
    messages, events = await run(ActionAnswer(), tracker)
    answer, prompt = messages
    assert answer["custom"]["kind"] == "answer"
    assert answer["custom"]["topic"] == "fleksjob"
    assert "Kilde: " in answer["text"]
    assert prompt["text"] == FEEDBACK_PROMPT.text
    assert [b["title"] for b in prompt["buttons"]] == ["Ja", "Nej", "Tal med en medarbejder"]
    slots = slot_events(events)
    assert slots["municipality"] == "rodovre"
    assert slots["last_article_id"] == answer["custom"]["article_id"]
    assert slots["fallback_streak"] == 0


async def test_answer_without_municipality_asks_for_it_and_keeps_the_question() -> None:
    messages, events = await run(ActionAnswer(), make_tracker("Hvad er et fleksjob?"))
    [question] = messages
    assert question["custom"]["kind"] == "clarify"
    assert [b["title"] for b in question["buttons"]] == ["Ballerup", "Gladsaxe", "Rødovre", "Rudersdal"]
    assert events == [SlotSet("pending_question", "Hvad er et fleksjob?")]


async def test_answer_uses_the_municipality_from_message_metadata() -> None:
    tracker = make_tracker("Hvad er et fleksjob?", metadata={"municipality": "ballerup"})
    messages, events = await run(ActionAnswer(), tracker)
    assert messages[0]["custom"]["municipality"] == "ballerup"
    assert "Ballerup Kommunes beskæftigelsespolitik siger ikke noget om fleksjob." in messages[0]["text"]
    assert slot_events(events)["municipality"] == "ballerup"


async def test_answer_remembers_an_employer_audience_inferred_from_the_text() -> None:
    tracker = make_tracker("Vi vil gerne ansætte en ledig med løntilskud", slots={"municipality": "rudersdal"})
    messages, events = await run(ActionAnswer(), tracker)
    assert slot_events(events)["audience"] == "virksomhed"
    custom = messages[0]["custom"]
    first = custom.get("article_id") or custom["choices"][0]
    assert get_engine().kb.article(first).audience in (Audience.VIRKSOMHED, "begge")


async def test_employer_wording_wins_over_a_citizen_page_default() -> None:
    tracker = make_tracker(
        "vi vil gerne ansætte en i løntilskud",
        slots={"municipality": "rodovre", "audience": "borger"},
        metadata={"municipality": "rodovre", "audience": "borger"},
    )
    messages, events = await run(ActionAnswer(), tracker)
    assert slot_events(events)["audience"] == "virksomhed"
    assert messages[0]["custom"]["article_id"] == "rodovre-loentilskud-virksomhed"


async def test_answer_with_a_chosen_article_of_the_users_municipality() -> None:
    tracker = make_tracker(
        '/ask_question{"article_id":"gladsaxe-fleksjob-job-paa-saerlige-vilkaar"}',
        slots={"municipality": "gladsaxe"},
        entities={"article_id": "gladsaxe-fleksjob-job-paa-saerlige-vilkaar"},
    )
    messages, _ = await run(ActionAnswer(), tracker)
    assert messages[0]["custom"]["article_id"] == "gladsaxe-fleksjob-job-paa-saerlige-vilkaar"


async def test_answer_ignores_a_chosen_article_of_another_municipality() -> None:
    tracker = make_tracker(
        '/ask_question{"article_id":"rodovre-fleksjob-borger"}',
        slots={"municipality": "gladsaxe"},
        entities={"article_id": "rodovre-fleksjob-borger"},
    )
    messages, events = await run(ActionAnswer(), tracker)
    assert messages, "nothing to check"
    assert all(m.get("custom", {}).get("article_id") != "rodovre-fleksjob-borger" for m in messages)
    assert slot_events(events).get("municipality", "gladsaxe") == "gladsaxe"


async def test_answer_for_an_unanswerable_question_falls_back() -> None:
    tracker = make_tracker("hvornår bliver mit skrald hentet", slots={"municipality": "gladsaxe"})
    messages, events = await run(ActionAnswer(), tracker)
    assert kinds(messages) == ["fallback"]
    assert slot_events(events)["fallback_streak"] == 1


# -- the conversation's subject ----------------------------------------------


async def answered(text: str, municipality: str) -> list[dict[str, Any]]:
    """The events of action_answer for a first question."""
    _, events = await run(ActionAnswer(), make_tracker(text, slots={"municipality": municipality}))
    return events


def after(events: list[dict[str, Any]], text: str, **kwargs: Any) -> Tracker:
    """The tracker for the next message, with the slots the last action set."""
    slots = {**kwargs.pop("slots", {}), **slot_events(events)}
    return make_tracker(text, slots=slots, **kwargs)


async def test_an_answer_keeps_the_subject_in_the_tracker() -> None:
    tracker = make_tracker("hvad går virksomhedspraktik ud på", slots={"municipality": "ballerup"})
    messages, events = await run(ActionAnswer(), tracker)
    slots = slot_events(events)
    assert slots["last_question"] == "hvad går virksomhedspraktik ud på"
    assert slots["last_article_id"] == messages[0]["custom"]["article_id"] == "alle-virksomhedspraktik-hvad-er"


async def test_a_follow_up_is_answered_within_the_subject_in_the_tracker() -> None:
    _, first = await run(
        ActionAnswer(), make_tracker("hvad går virksomhedspraktik ud på", slots={"municipality": "ballerup"})
    )
    messages, events = await run(ActionAnswer(), after(first, "hvor længe varer det"))
    answer = messages[0]["custom"]
    assert answer["article_id"] == "alle-virksomhedspraktik-hvad-er"
    assert answer["parts"]["scope"].startswith("Jeg går ud fra, at du spørger videre om virksomhedspraktik.")
    assert "virksomhedspraktik" in slot_events(events)["last_question"]


async def test_the_same_follow_up_without_a_subject_is_read_by_itself() -> None:
    messages, _ = await run(ActionAnswer(), make_tracker("hvor længe varer det", slots={"municipality": "ballerup"}))
    assert messages[0]["custom"].get("topic") != "virksomhedspraktik"


async def test_a_new_municipality_answers_the_last_question_again() -> None:
    _, first = await run(
        ActionAnswer(), make_tracker("hvordan kontakter jeg jobcentret", slots={"municipality": "rudersdal"})
    )
    tracker = after(first, "Gladsaxe", intent="inform_municipality", entities={"municipality": "gladsaxe"})
    messages, events = await run(ActionSetMunicipality(), tracker)
    assert messages[0]["text"] == "Tak. Jeg svarer nu ud fra reglerne i Gladsaxe Kommune."
    assert messages[1]["custom"]["article_id"] == "gladsaxe-kontakt-jobcenter"
    slots = slot_events(events)
    assert slots["municipality"] == "gladsaxe"
    assert slots["last_article_id"] == "gladsaxe-kontakt-jobcenter"


async def test_a_municipality_in_a_follow_up_question_answers_there() -> None:
    _, first = await run(
        ActionAnswer(), make_tracker("hvordan kontakter jeg jobcentret", slots={"municipality": "rudersdal"})
    )
    messages, events = await run(ActionAnswer(), after(first, "og hvad med Gladsaxe?"))
    assert messages[0]["custom"]["article_id"] == "gladsaxe-kontakt-jobcenter"
    assert slot_events(events)["municipality"] == "gladsaxe"


async def test_a_new_audience_answers_the_last_question_again() -> None:
    tracker = make_tracker("hvordan fungerer løntilskud", slots={"municipality": "rodovre", "audience": "borger"})
    _, first = await run(ActionAnswer(), tracker)
    tracker = after(
        first, "jeg spørger for en virksomhed", intent="inform_audience", entities={"audience": "virksomhed"}
    )
    messages, events = await run(ActionSetAudience(), tracker)
    assert messages[0]["custom"]["topic"] == "loentilskud"
    assert get_engine().kb.article(messages[0]["custom"]["article_id"]).audience in (Audience.VIRKSOMHED, "begge")
    assert slot_events(events)["audience"] == "virksomhed"


async def test_a_follow_up_read_as_out_of_scope_is_answered_within_the_subject() -> None:
    _, first = await run(
        ActionAnswer(), make_tracker("hvad går virksomhedspraktik ud på", slots={"municipality": "gladsaxe"})
    )
    messages, _ = await run(ActionOutOfScope(), after(first, "hvor mange uger", intent="out_of_scope"))
    assert messages[0]["custom"]["topic"] == "virksomhedspraktik"
    messages, _ = await run(ActionOutOfScope(), after(first, "hvornår åbner svømmehallen", intent="out_of_scope"))
    assert kinds(messages) == ["out_of_scope"]


async def test_a_pronoun_follow_up_read_as_out_of_scope_is_answered_within_the_subject() -> None:
    """The story test shows the NLU model reads "hvordan får jeg det" as out of scope."""
    first = await answered("hvad bruger man et fleksjobbevis til", "gladsaxe")
    messages, _ = await run(ActionOutOfScope(), after(first, "hvordan får jeg det", intent="out_of_scope"))
    assert messages[0]["custom"]["article_id"] == "alle-fleksjob-fleksjobbevis"


async def test_a_subject_the_knowledge_base_lacks_is_said_and_remembered() -> None:
    tracker = make_tracker("har jeg ret til en tolk til samtalen", slots={"municipality": "rudersdal"})
    messages, events = await run(ActionAnswer(), tracker)
    assert messages[0]["custom"] == {"kind": "handoff", "offer": "fallback", "missing": "tolk"}
    slots = slot_events(events)
    assert slots["handoff_offered"] is True
    assert slots["last_article_id"] is None
    assert "tolk" in slots["last_question"]


async def test_english_gets_an_english_reply_in_every_turn_that_answers() -> None:
    text = "Hi, I lost my job. Can someone help me in English?"
    for action in (ActionAnswer(), ActionFallback(), ActionOutOfScope(), ActionPersonalCase()):
        messages, events = await run(action, make_tracker(text, slots={"municipality": "gladsaxe"}))
        assert messages[0]["custom"]["language"] == "en"
        assert slot_events(events)["handoff_offered"] is True


# -- municipality and audience -----------------------------------------------


async def test_set_municipality_answers_the_pending_question() -> None:
    tracker = make_tracker(
        '/inform_municipality{"municipality":"rodovre"}',
        intent="inform_municipality",
        entities={"municipality": "rodovre"},
        slots={"pending_question": "Hvad er et fleksjob?"},
    )
    messages, events = await run(ActionSetMunicipality(), tracker)
    assert messages[0]["text"] == "Tak. Jeg svarer nu ud fra reglerne i Rødovre Kommune."
    assert kinds(messages) == ["answer"]
    assert messages[1]["custom"]["municipality"] == "rodovre"
    slots = slot_events(events)
    assert slots["municipality"] == "rodovre"
    assert slots["pending_question"] is None
    assert slots["last_article_id"] == messages[1]["custom"]["article_id"]


async def test_set_municipality_from_free_text() -> None:
    tracker = make_tracker("jeg bor i gladsakse", intent="inform_municipality")
    messages, events = await run(ActionSetMunicipality(), tracker)
    assert messages == [
        {
            "text": "Tak. Jeg svarer nu ud fra reglerne i Gladsaxe Kommune.",
            "buttons": [],
            "elements": [],
            "custom": {"kind": "smalltalk"},
            "template": None,
            "response": None,
            "image": None,
            "attachment": None,
        }
    ]
    assert events == [SlotSet("municipality", "gladsaxe"), SlotSet("pending_question", None)]


async def test_set_municipality_asks_again_for_an_unknown_one() -> None:
    tracker = make_tracker("jeg bor i Aarhus", intent="inform_municipality")
    messages, events = await run(ActionSetMunicipality(), tracker)
    assert kinds(messages) == ["clarify"]
    assert events == []


@pytest.mark.parametrize(("value", "slots"), [("virksomhed", {"audience": "virksomhed"}), ("robot", {})])
async def test_set_audience(value: str, slots: dict[str, str]) -> None:
    tracker = make_tracker(f'/inform_audience{{"audience":"{value}"}}', entities={"audience": value})
    messages, events = await run(ActionSetAudience(), tracker)
    assert kinds(messages) == ["smalltalk"]
    assert slot_events(events) == slots


# -- fallback, crisis, personal case, complaint ------------------------------


async def test_fallback_asks_to_rephrase_first() -> None:
    tracker = make_tracker("blablabla", slots={"municipality": "gladsaxe"}, intent="nlu_fallback")
    messages, events = await run(ActionFallback(), tracker)
    assert messages[0]["custom"] == {"kind": "fallback", "reason": "not_understood"}
    assert slot_events(events)["fallback_streak"] == 1


async def test_second_fallback_in_a_row_offers_a_caseworker() -> None:
    tracker = make_tracker("blablabla", slots={"municipality": "gladsaxe", "fallback_streak": 1.0})
    messages, events = await run(ActionFallback(), tracker)
    assert messages[0]["custom"] == {"kind": "handoff", "offer": "fallback"}
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/deny"]
    slots = slot_events(events)
    assert (slots["handoff_offered"], slots["handoff_reason"], slots["fallback_streak"]) == (True, "fallback", 0)


async def test_crisis_gives_emergency_numbers_and_offers_a_caseworker() -> None:
    messages, events = await run(ActionCrisis(), make_tracker("jeg vil ikke leve mere", intent="crisis"))
    [message] = messages
    assert message["custom"]["kind"] == "crisis"
    assert "112" in message["text"]
    assert "70 201 201" in message["text"]
    assert slot_events(events)["handoff_offered"] is True
    assert slot_events(events)["handoff_reason"] == "crisis"


async def test_crisis_during_the_handoff_form_stops_the_form() -> None:
    tracker = make_tracker("jeg vil ikke leve mere", intent="crisis", active_loop={"name": "handoff_form"})
    _, events = await run(ActionCrisis(), tracker)
    assert events[-2:] == [ActiveLoop(None), SlotSet("requested_slot", None)]


async def test_out_of_scope_says_what_the_assistant_helps_with() -> None:
    tracker = make_tracker("hvornår bliver mit skrald hentet", slots={"municipality": "rodovre"}, intent="out_of_scope")
    messages, events = await run(ActionOutOfScope(), tracker)
    [message] = messages
    assert message["custom"] == {"kind": "out_of_scope"}
    assert "fleksjob" in message["text"] and "borger.dk" in message["text"]
    assert slot_events(events) == {"municipality": "rodovre"}


async def test_out_of_scope_naming_another_municipality_names_the_four() -> None:
    tracker = make_tracker("jeg bor i københavn", slots={"municipality": "rodovre"}, intent="out_of_scope")
    [message], _ = await run(ActionOutOfScope(), tracker)
    assert message["custom"] == {"kind": "clarify", "question": "municipality"}
    assert "Hører du til Københavns Kommune, skal du kontakte jobcentret dér." in message["text"]
    assert [b["title"] for b in message["buttons"]] == ["Ballerup", "Gladsaxe", "Rødovre", "Rudersdal"]


@pytest.mark.parametrize(
    "action", [ActionAnswer(), ActionFallback(), ActionOutOfScope(), ActionPersonalCase(), ActionComplaint()]
)
async def test_crisis_wording_wins_in_every_answering_action(action: Action) -> None:
    tracker = make_tracker("jeg tænker på selvmord", slots={"municipality": "gladsaxe"})
    messages, _ = await run(action, tracker)
    assert kinds(messages) == ["crisis"]


async def test_personal_case_offers_a_caseworker() -> None:
    tracker = make_tracker("Hvorfor har jeg fået en sanktion i min sag?", intent="personal_case")
    messages, events = await run(ActionPersonalCase(), tracker)
    assert messages[0]["custom"] == {"kind": "handoff", "offer": "personal_case"}
    assert messages[0]["text"].startswith("Jeg kan ikke se din sag")
    assert slot_events(events) == {"handoff_offered": True, "handoff_reason": "personal_case", "fallback_streak": 0}


async def test_complaint_offers_a_caseworker_and_the_general_rule() -> None:
    tracker = make_tracker("Jeg vil klage over jobcentret", slots={"municipality": "rudersdal"}, intent="complaint")
    messages, events = await run(ActionComplaint(), tracker)
    assert kinds(messages) == ["handoff"]
    assert messages[1]["text"].startswith("Det gælder generelt:")
    slots = slot_events(events)
    assert (slots["handoff_offered"], slots["handoff_reason"], slots["municipality"]) == (
        True,
        "complaint",
        "rudersdal",
    )


# -- feedback, decline, restart ----------------------------------------------


async def test_feedback_records_the_answer() -> None:
    tracker = make_tracker('/give_feedback{"helpful":"nej"}', intent="give_feedback", entities={"helpful": "nej"})
    messages, events = await run(ActionFeedback(), tracker)
    assert [b["title"] for b in messages[0]["buttons"]] == ["Tal med en medarbejder"]
    assert events == [SlotSet("answer_helpful", "nej")]


@pytest.mark.parametrize(
    ("typed", "entity", "helpful"),
    [
        ("øv, det hjalp ikke rigtig", None, "nej"),
        ("svaret var dårligt", "dårligt", "nej"),
        ("fedt, det hjalp mig en masse", None, "ja"),
    ],
)
async def test_typed_feedback_is_read_from_its_words(typed: str, entity: str | None, helpful: str) -> None:
    entities = {"helpful": entity} if entity else None
    messages, events = await run(ActionFeedback(), make_tracker(typed, intent="give_feedback", entities=entities))
    assert events == [SlotSet("answer_helpful", helpful)]
    assert bool(messages[0].get("buttons")) == (helpful == "nej")


async def test_decline_handoff_clears_the_offer() -> None:
    messages, events = await run(ActionDeclineHandoff(), make_tracker("nej tak", intent="deny"))
    assert kinds(messages) == ["smalltalk"]
    assert events == [SlotSet("handoff_offered", False), SlotSet("handoff_reason", None)]


async def test_feeling_unwell_after_an_offer_gets_the_help_lines() -> None:
    tracker = make_tracker("nej, jeg har det ikke godt", slots={"handoff_offered": True}, intent="deny")
    [message], events = await run(ActionDeclineHandoff(), tracker)
    assert kinds([message]) == ["crisis"]
    assert slot_events(events)["handoff_offered"] is True


async def test_a_no_out_of_context_asks_what_else() -> None:
    [message], events = await run(ActionDeny(), make_tracker("nej egentlig ikke", intent="deny"))
    assert message["text"] == "Helt i orden. Hvad kan jeg ellers hjælpe med?"
    assert kinds([message]) == ["smalltalk"]
    assert events == []


@pytest.mark.parametrize("text", ["jeg har det ikke godt", "Jeg har det rigtig skidt", "nej, jeg har det dårligt"])
async def test_feeling_unwell_read_as_a_no_gets_the_help_lines(text: str) -> None:
    [message], events = await run(ActionDeny(), make_tracker(text, intent="deny"))
    assert kinds([message]) == ["crisis"]
    assert "112" in message["text"] and "70 201 201" in message["text"]
    assert slot_events(events)["handoff_reason"] == "crisis"


async def test_feeling_unwell_not_understood_gets_the_help_lines() -> None:
    [message], events = await run(ActionFallback(), make_tracker("jeg har det ikke godt", intent="nlu_fallback"))
    assert kinds([message]) == ["crisis"]
    assert "112" in message["text"] and "70 201 201" in message["text"]
    assert slot_events(events)["handoff_reason"] == "crisis"


async def test_restart_tells_the_user_and_restarts() -> None:
    messages, events = await run(ActionRestart(), make_tracker("/restart", intent="restart"))
    assert messages[0]["text"] == "Samtalen er startet forfra. Hvad vil du gerne vide?"
    assert events == [Restarted()]


# -- handoff: request, ask, cancel -------------------------------------------


async def test_request_human_after_an_accepted_offer_keeps_the_reason() -> None:
    tracker = make_tracker(
        "ja tak",
        intent="affirm",
        slots={"municipality": "gladsaxe", "handoff_offered": True, "handoff_reason": "personal_case"},
    )
    messages, events = await run(ActionRequestHuman(), tracker)
    assert messages[0]["custom"] == {"kind": "handoff", "team": "borger"}
    assert events[-4:] == RESET_FORM
    slots = slot_events(events[:-4])
    assert slots == {"handoff_reason": "personal_case", "handoff_offered": False, "municipality": "gladsaxe"}


async def test_request_human_without_an_offer_is_a_plain_request() -> None:
    tracker = make_tracker("Jeg vil tale med et menneske", intent="request_human", slots={"handoff_reason": "crisis"})
    _, events = await run(ActionRequestHuman(), tracker)
    assert slot_events(events)["handoff_reason"] == "request_human"


async def test_request_human_in_english_says_in_english_that_the_form_is_in_danish() -> None:
    tracker = make_tracker("I would like someone to call me", intent="request_human")
    messages, events = await run(ActionRequestHuman(), tracker)
    assert messages[0]["custom"] == {"language": "en"} and "only write in Danish" in messages[0]["text"]
    assert messages[1]["custom"] == {"kind": "handoff", "team": "borger"}
    assert events[-4:] == RESET_FORM


async def test_request_human_in_danish_has_no_english_note() -> None:
    messages, _ = await run(ActionRequestHuman(), make_tracker("Kan nogen ringe til mig?", intent="request_human"))
    assert [m["custom"].get("kind") for m in messages] == ["handoff"]


async def test_request_human_from_an_employer_goes_to_team_virksomhed() -> None:
    tracker = make_tracker("Kan jeg tale med en virksomhedskonsulent?", intent="request_human")
    messages, events = await run(ActionRequestHuman(), tracker)
    assert messages[0]["custom"]["team"] == Team.VIRKSOMHED.value
    assert "en virksomhedskonsulent" in messages[0]["text"]
    assert "audience" not in slot_events(events)  # the team is not the user's audience


async def test_ask_channel_while_the_chat_is_open() -> None:
    # conftest.py opens the chat around the clock in every municipality.
    messages, events = await run(ActionAskHandoffChannel(), make_tracker(slots={"municipality": "gladsaxe"}))
    assert [b["title"] for b in messages[0]["buttons"]] == [CHAT_NOW, CALL_ME, "Fortryd"]
    assert events == []


@pytest.mark.parametrize(
    ("action", "name", "first_button"),
    [
        (ActionAskMunicipality(), "action_ask_municipality", "Ballerup"),
        (ActionAskContactName(), "action_ask_contact_name", "Spring over"),
        (ActionAskContactInfo(), "action_ask_contact_info", "Fortryd"),
        (ActionAskHandoffDescription(), "action_ask_handoff_description", "Fortryd"),
    ],
)
async def test_ask_actions_ask_one_question_that_can_be_cancelled(action: Action, name: str, first_button: str) -> None:
    assert action.name() == name
    [message], events = await run(action, make_tracker())
    assert message["custom"] == {"kind": "form"}
    assert message["buttons"][0]["title"] == first_button
    assert message["buttons"][-1] == {"title": "Fortryd", "payload": "/stop"}
    assert events == []


async def test_cancel_handoff_clears_the_form_and_stops_the_loop() -> None:
    tracker = make_tracker("/stop", intent="stop", active_loop={"name": "handoff_form"})
    messages, events = await run(ActionCancelHandoff(), tracker)
    assert messages[0]["custom"] == {"kind": "form", "cancelled": True}
    assert events == [
        SlotSet("handoff_reason", None),
        *RESET_FORM,
        ActiveLoop(None),
        SlotSet("requested_slot", None),
    ]


# -- handoff form validation -------------------------------------------------


@pytest.mark.parametrize(
    ("slots", "expected"),
    [
        ({"municipality": "gladsaxe"}, ["handoff_channel", "handoff_description"]),
        ({}, ["municipality", "handoff_channel", "handoff_description"]),
        (
            {"municipality": "gladsaxe", "handoff_channel": "callback"},
            ["handoff_channel", "contact_name", "contact_info", "handoff_description"],
        ),
        ({"municipality": "gladsaxe", "handoff_channel": "chat"}, ["handoff_channel", "handoff_description"]),
    ],
)
async def test_form_required_slots(slots: dict[str, str], expected: list[str]) -> None:
    form = ValidateHandoffForm()
    domain_slots = DOMAIN["forms"]["handoff_form"]["required_slots"]
    assert (
        await form.required_slots(domain_slots, CollectingDispatcher(), make_tracker(slots=slots), DOMAIN) == expected
    )


def validate(
    slot: str, value: str, slots: dict[str, Any] | None = None, intent: str = "ask_question"
) -> tuple[dict[str, Any], list[dict]]:
    dispatcher = CollectingDispatcher()
    method = getattr(ValidateHandoffForm(), f"validate_{slot}")
    result = method(value, dispatcher, make_tracker(value, slots=slots, intent=intent), DOMAIN)
    return result, dispatcher.messages


def test_validate_municipality() -> None:
    assert validate("municipality", "Rødovre") == ({"municipality": "rodovre"}, [])
    result, [problem] = validate("municipality", "Aarhus")
    assert result == {"municipality": None}
    assert problem["custom"] == {"kind": "form", "invalid": True}
    assert problem["text"].startswith("Den kommune kender jeg ikke.")


def test_validate_handoff_channel() -> None:
    assert validate("handoff_channel", CHAT_NOW, {"municipality": "gladsaxe"}) == ({"handoff_channel": "chat"}, [])
    assert validate("handoff_channel", "ring til mig", {"municipality": "gladsaxe"}) == (
        {"handoff_channel": "callback"},
        [],
    )
    result, [problem] = validate("handoff_channel", "måske", {"municipality": "gladsaxe"})
    assert result == {"handoff_channel": None}
    assert problem["custom"]["invalid"] is True


def test_validate_contact_name() -> None:
    assert validate("contact_name", "Anna Sørensen") == ({"contact_name": "Anna Sørensen"}, [])
    assert validate("contact_name", "spring over") == ({"contact_name": "-"}, [])
    result, [problem] = validate("contact_name", "Anna 2")
    assert result == {"contact_name": None}
    assert problem["text"] == "Skriv dit navn uden tal, eller vælg «Spring over»."


def test_validate_contact_info() -> None:
    assert validate("contact_info", "+45 12345678") == ({"contact_info": "12 34 56 78"}, [])
    assert validate("contact_info", "Navn@Eksempel.dk") == ({"contact_info": "navn@eksempel.dk"}, [])
    result, [problem] = validate("contact_info", "1234567")
    assert result == {"contact_info": None}
    assert "8 cifre" in problem["text"]


def test_validate_handoff_description() -> None:
    assert validate("handoff_description", " Spørgsmål om fleksjob ") == (
        {"handoff_description": "Spørgsmål om fleksjob"},
        [],
    )
    result, [problem] = validate("handoff_description", "x")
    assert result == {"handoff_description": None}
    assert problem["custom"]["invalid"] is True


def form_tracker(text: str, slot: str, slots: dict[str, Any]) -> Tracker:
    """The handoff form just took `text` as `slot` and runs its validation."""
    return make_tracker(
        text,
        slots={"municipality": "gladsaxe", **slots},
        events=[{"event": "user", "text": text}, SlotSet(slot, text)],
        active_loop={"name": "handoff_form"},
    )


async def test_form_run_validates_the_new_slot_and_asks_for_the_next() -> None:
    tracker = form_tracker(CALL_ME, "handoff_channel", {"requested_slot": "handoff_channel"})
    messages, events = await run(ValidateHandoffForm(), tracker)
    assert messages == []
    assert events == [SlotSet("handoff_channel", "callback"), SlotSet("requested_slot", "contact_name")]


async def test_form_run_rejects_a_bad_phone_number_and_asks_again() -> None:
    tracker = form_tracker("1234", "contact_info", {"handoff_channel": "callback", "contact_name": "-"})
    messages, events = await run(ValidateHandoffForm(), tracker)
    assert kinds(messages) == ["form"]
    assert events == [SlotSet("contact_info", None), SlotSet("requested_slot", "contact_info")]


def resent_tracker(previous: str, text: str, slot: str, slots: dict[str, Any], intent: str = "ask_question") -> Tracker:
    """The form took `text` as `slot`, and the citizen's message before it was `previous`."""
    return make_tracker(
        text,
        slots={"municipality": "gladsaxe", "handoff_channel": "callback", "requested_slot": slot, **slots},
        intent=intent,
        events=[{"event": "user", "text": previous}, {"event": "user", "text": text}, SlotSet(slot, text)],
        active_loop={"name": "handoff_form"},
    )


@pytest.mark.parametrize(
    ("previous", "text", "slot", "slots", "intent"),
    [
        # A second tap on the button, or a resend after a 503 whose turn had run
        # (the trained model reads it as request_human).
        (CALL_ME, CALL_ME, "contact_name", {}, "request_human"),
        ("Anna  Holm", "anna holm", "contact_info", {"contact_name": "Anna Holm"}, "nlu_fallback"),
        (
            "20 30 40 00",
            "20 30 40 00",
            "handoff_description",
            {"contact_name": "-", "contact_info": "20 30 40 00"},
            "nlu_fallback",
        ),
    ],
)
async def test_a_message_sent_again_is_not_the_next_steps_answer(
    previous: str, text: str, slot: str, slots: dict[str, Any], intent: str
) -> None:
    messages, events = await run(ValidateHandoffForm(), resent_tracker(previous, text, slot, slots, intent))
    assert [m["text"] for m in messages] == ["Det skrev du også lige før."]
    assert events == [SlotSet(slot, None), SlotSet("requested_slot", slot)]  # the form asks the same step again


async def test_a_name_like_an_earlier_message_but_not_the_last_is_a_name() -> None:
    tracker = resent_tracker(CALL_ME, "Anna Holm", "contact_name", {}, "nlu_fallback")
    tracker.events.insert(0, {"event": "user", "text": "Anna Holm"})
    messages, events = await run(ValidateHandoffForm(), tracker)
    assert messages == []
    assert events[0] == SlotSet("contact_name", "Anna Holm")


async def test_a_question_asked_again_inside_the_form_is_answered_again() -> None:
    question = "Hvad er et fleksjob?"
    messages, events = await run(ValidateHandoffForm(), resent_tracker(question, question, "contact_name", {}))
    assert kinds(messages) == ["answer"]
    assert events[-1] == SlotSet("requested_slot", "contact_name")


def test_a_question_inside_the_form_is_answered_and_the_step_asked_again() -> None:
    slots = {"municipality": "gladsaxe"}
    for slot in ("handoff_channel", "contact_name", "contact_info"):
        result, [answer] = validate(slot, "Hvad er et fleksjob?", slots)
        assert result == {slot: None, "last_article_id": "alle-fleksjob-hvem-kan-faa"}
        assert answer["custom"]["kind"] == "answer"
        assert answer["text"].startswith("Et fleksjob")
        assert "buttons" not in answer or not answer["buttons"]  # the form's own buttons come next


def test_an_unsure_question_inside_the_form_gets_the_step_explained() -> None:
    result, messages = validate("handoff_channel", "Hvad er et fleksjob?", {"municipality": "gladsaxe"}, "out_of_scope")
    assert result == {"handoff_channel": None}
    assert [m["text"] for m in messages] == ["Vælg en af knapperne, eller skriv «chat» eller «ring»."]


async def test_form_run_answers_a_question_and_asks_for_the_channel_again() -> None:
    tracker = form_tracker("Hvad er et fleksjob?", "handoff_channel", {"requested_slot": "handoff_channel"})
    messages, events = await run(ValidateHandoffForm(), tracker)
    assert kinds(messages) == ["answer"]
    assert SlotSet("handoff_channel", None) in events
    assert events[-1] == SlotSet("requested_slot", "handoff_channel")


# -- handoff submit: a real case in the database -----------------------------

CONVERSATION = [
    {"event": "action", "name": "action_session_start"},
    {"event": "user", "text": "Hvad er et fleksjob?"},
    {
        "event": "bot",
        "text": "Et fleksjob er et job på særlige vilkår.",
        "data": {"custom": {"kind": "answer", "article_id": "alle-fleksjob-hvem-kan-faa", "topic": "fleksjob"}},
    },
    {"event": "user", "text": "Kan jeg få fleksjob med min ryg?"},
    {"event": "bot", "text": "Jeg kan ikke se din sag, og jeg kan ikke vurdere den."},
    {"event": "user", "text": "/affirm"},
]


def stored_case(sender: str) -> HandoffCase:
    with session_scope() as session:
        query = select(HandoffCase).where(HandoffCase.sender == sender).options(selectinload(HandoffCase.messages))
        [case] = session.scalars(query).all()
        return case


async def test_submit_callback_stores_a_case_with_contact_and_transcript(migrated: str) -> None:
    tracker = make_tracker(
        "Jeg vil gerne vide, om jeg kan få fleksjob.",
        slots={
            "municipality": "rodovre",
            "handoff_reason": "personal_case",
            "handoff_channel": "callback",
            "contact_name": "Anna Sørensen",
            "contact_info": "12 34 56 78",
            "handoff_description": "Jeg vil gerne vide, om jeg kan få fleksjob.",
        },
        events=CONVERSATION,
    )
    messages, events = await run(ActionSubmitHandoff(), tracker)
    assert messages[0]["text"].startswith("Tak. En medarbejder kontakter dig på 12 34 56 78 i åbningstiden.")
    assert messages[0]["custom"]["handoff"] == "callback"
    assert events == [SlotSet("handoff_reason", None), *RESET_FORM]

    case = stored_case(tracker.sender_id)
    assert case.municipality is Municipality.RODOVRE
    assert case.team is Team.BORGER
    assert case.channel is Channel.CALLBACK
    assert case.status is CaseStatus.WAITING
    assert (case.reason, case.priority) == ("personal_case", 2)
    assert (case.contact_name, case.contact_phone, case.contact_email) == ("Anna Sørensen", "12 34 56 78", None)
    assert case.description == "Jeg vil gerne vide, om jeg kan få fleksjob."
    assert (case.topic, case.article_ids) == ("fleksjob", ["alle-fleksjob-hvem-kan-faa"])
    assert [(m.author, m.text) for m in case.messages] == [
        (Author.CITIZEN, "Hvad er et fleksjob?"),
        (Author.BOT, "Et fleksjob er et job på særlige vilkår."),
        (Author.CITIZEN, "Kan jeg få fleksjob med min ryg?"),
        (Author.BOT, "Jeg kan ikke se din sag, og jeg kan ikke vurdere den."),
        (Author.CITIZEN, "(knap: affirm)"),
        (Author.SYSTEM, "Sagen er oprettet (personal_case)."),
    ]


async def test_submit_after_asking_for_a_virksomhedskonsulent_goes_to_team_virksomhed(migrated: str) -> None:
    asked = [
        {"event": "user", "text": "Kan jeg tale med en virksomhedskonsulent?", "parse_data": {}},
        {"event": "bot", "text": "Jeg kan sætte dig i kontakt med en virksomhedskonsulent."},
    ]
    slots = {"municipality": "gladsaxe", "handoff_channel": "chat", "handoff_description": "Vi mangler folk"}
    tracker = make_tracker("Vi mangler folk", slots=slots, events=asked)
    await run(ActionSubmitHandoff(), tracker)
    assert stored_case(tracker.sender_id).team is Team.VIRKSOMHED


async def test_submit_callback_with_email_and_skipped_name(migrated: str) -> None:
    tracker = make_tracker(
        "x",
        slots={
            "municipality": "ballerup",
            "handoff_channel": "callback",
            "contact_name": "-",
            "contact_info": "navn@eksempel.dk",
            "handoff_description": "Spørgsmål om løntilskud",
        },
    )
    await run(ActionSubmitHandoff(), tracker)
    case = stored_case(tracker.sender_id)
    assert (case.contact_name, case.contact_phone, case.contact_email) == (None, None, "navn@eksempel.dk")
    assert (case.reason, case.priority) == ("request_human", 3)


async def test_submit_chat_for_an_employer_queues_for_team_virksomhed_once(migrated: str) -> None:
    tracker = make_tracker(
        "Vi mangler folk",
        slots={
            "municipality": "gladsaxe",
            "audience": "virksomhed",
            "handoff_reason": "request_human",
            "handoff_channel": "chat",
            "handoff_description": "Vi mangler to lagerarbejdere",
        },
        events=CONVERSATION,
    )
    [message], _ = await run(ActionSubmitHandoff(), tracker)
    again, _ = await run(ActionSubmitHandoff(), tracker)

    case = stored_case(tracker.sender_id)  # one case, even when submitted twice
    assert (case.municipality, case.team, case.channel) == (Municipality.GLADSAXE, Team.VIRKSOMHED, Channel.CHAT)
    assert case.contact_phone is None
    with session_scope() as session:
        position = queue_position(session, case)
    assert message["custom"] == {"kind": "form", "handoff": "chat", "queue": position}
    assert again[0]["custom"]["queue"] == position
    assert message["text"].startswith("Tak. Du er nu i kø til en medarbejder.")


# -- a citizen already in the live-chat queue ------------------------------------

QUEUED = {"municipality": "gladsaxe", "queue_position": 3}


async def test_a_question_about_ones_own_case_while_queued_tells_the_place_not_a_new_offer() -> None:
    question = "Hvornår får jeg svar på min ansøgning om fleksjob?"
    tracker = make_tracker(question, intent="personal_case", metadata=QUEUED)
    messages, events = await run(ActionPersonalCase(), tracker)
    texts = " ".join(m.get("text") or "" for m in messages)
    assert "allerede i kø" in texts and "Der er 2 før dig i køen." in texts
    assert not any(m.get("buttons") for m in messages[:1])  # no "Ja tak / Nej tak" offer
    assert slot_events(events).get("handoff_offered") is False
    assert "handoff_reason" not in slot_events(events)


async def test_asking_for_a_person_while_queued_starts_no_second_form() -> None:
    tracker = make_tracker("Jeg vil tale med en medarbejder", intent="request_human", metadata=QUEUED)
    messages, events = await run(ActionRequestHuman(), tracker)
    assert messages[0]["custom"] == {"kind": "handoff", "queue": 3}
    assert events[-1] == FollowupAction("action_listen")


async def test_crisis_wording_while_queued_keeps_the_emergency_numbers() -> None:
    tracker = make_tracker("jeg vil ikke leve mere", intent="crisis", metadata=QUEUED)
    messages, _ = await run(ActionCrisis(), tracker)
    assert messages[0]["custom"]["kind"] == "crisis"
    assert "112" in messages[0]["text"] and "allerede i kø" in messages[0]["text"]
