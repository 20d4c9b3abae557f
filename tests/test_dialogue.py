"""What the assistant says, without Rasa: answers, turns, safety, audience, contact, transcript."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
import yaml

from bot.dialogue import reading, slots, turns
from bot.dialogue.answers import CHECK_THE_RULES, FEEDBACK_PROMPT, MAY_HAVE_CHANGED, answer_messages
from bot.dialogue.audience import infer_audience
from bot.dialogue.contact import GENERAL_ROUTE, contact_route
from bot.dialogue.feedback import typed_helpful
from bot.dialogue.language import is_english, says_little_danish
from bot.dialogue.messages import BotMessage, Kind
from bot.dialogue.transcript import read_transcript
from bot.dialogue.turns import Context, Reply
from bot.knowledge.engine import Engine
from bot.knowledge.nlu_examples import OUTPUT, plain
from bot.knowledge.schema import Article
from bot.knowledge.store import KnowledgeBase, load_knowledge
from bot.safety import is_crisis, says_unwell
from bot.storage.models import Author
from bot.taxonomy import ALL_MUNICIPALITIES, Audience, Municipality, Topic

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"
NLU_DIR = OUTPUT.parent
TODAY = date(2026, 11, 22)
CRISIS_NUMBERS = ("112", "70 201 201")


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge(KNOWLEDGE)


@pytest.fixture(scope="module")
def engine(kb: KnowledgeBase) -> Engine:
    return Engine(kb)


def kinds(messages: list[BotMessage]) -> list[str]:
    return [m.custom["kind"] for m in messages if "kind" in m.custom]


def answer_text(kb: KnowledgeBase, article_id: str, municipality: Municipality) -> str:
    return answer_messages(kb.article(article_id), kb, municipality, TODAY)[0].text or ""


# -- answers -----------------------------------------------------------------


def test_answer_message_carries_kind_topic_article_and_sources(kb: KnowledgeBase) -> None:
    answer, _ = answer_messages(kb.article("gladsaxe-kontakt-jobcenter"), kb, Municipality.GLADSAXE, TODAY)
    assert answer.custom["kind"] == Kind.ANSWER.value
    assert answer.custom["topic"] == Topic.KONTAKT.value
    assert answer.custom["article_id"] == "gladsaxe-kontakt-jobcenter"
    assert answer.custom["municipality"] == "gladsaxe"
    assert answer.custom["sources"][0] == {
        "document": "gladsaxe-beskaeftigelsesplan-2022",
        "municipality": "gladsaxe",
        "title": "Gladsaxe Kommune Beskæftigelsesplan 2022",
        "section": "Kontaktoplysninger",
        "year": 2022,
    }


def test_answer_sources_list_each_cited_section_once(kb: KnowledgeBase) -> None:
    article = kb.article("ballerup-integration-ikke-vestlig-baggrund")  # three quotes from one section
    sources = answer_messages(article, kb, Municipality.BALLERUP, TODAY)[0].custom["sources"]
    keys = [(s["document"], s["section"]) for s in sources]
    assert len(keys) == len(set(keys)) == len({(c.source, c.section) for c in article.citations})


def test_answer_text_has_a_source_line_with_the_section_in_guillemets(kb: KnowledgeBase) -> None:
    text = answer_text(kb, "gladsaxe-kontakt-jobcenter", Municipality.GLADSAXE)
    assert "Kilde: Gladsaxe Kommune Beskæftigelsesplan 2022, afsnit «Kontaktoplysninger» (2022)" in text
    assert text.startswith(kb.article("gladsaxe-kontakt-jobcenter").answer)


def warning_of(article: Article, kb: KnowledgeBase, today: date = TODAY) -> str | None:
    """The warning part of the answer to an article, as the widget shows it."""
    municipality = Municipality.GLADSAXE if article.is_common else Municipality(article.municipality)
    return answer_messages(article, kb, municipality, today)[0].custom["parts"].get("warning")


def test_reform_note_ends_the_answer_with_what_changed_and_where_to_check(kb: KnowledgeBase) -> None:
    article = kb.article("gladsaxe-kontakt-jobcenter")
    assert article.reform_note
    text = answer_text(kb, article.id, Municipality.GLADSAXE)
    assert text.endswith("Reglerne for jobcentre er ændret i 2026. " + CHECK_THE_RULES)
    assert "borger.dk" in CHECK_THE_RULES and "star.dk" in CHECK_THE_RULES


def test_scheme_abolished_in_2026_is_said_to_have_changed(kb: KnowledgeBase) -> None:
    warning = warning_of(kb.article("rodovre-om-jobcenteret-aktivitetsparat"), kb)
    assert warning == (
        "Politikken er fra 2021. Reglerne for jobcentre og ressourceforløb er ændret i 2026. " + CHECK_THE_RULES
    )


def test_change_announced_for_2027_is_not_said_to_be_in_force(kb: KnowledgeBase) -> None:
    warning = warning_of(kb.article("alle-sygdom-fastholdelsesplan"), kb)
    assert warning == "Der er varslet nye regler for sygedagpenge fra 2027. " + CHECK_THE_RULES


def test_article_with_changes_of_both_years_names_each_with_its_year(kb: KnowledgeBase) -> None:
    warning = warning_of(kb.article("rodovre-sygdom-jobafklaring-laegefaglig-konsulent"), kb) or ""
    assert "Reglerne for jobcentre og ressourceforløb er ændret i 2026. " in warning
    assert "Der er varslet nye regler for sygedagpenge fra 2027. " in warning
    assert warning.index("2026") < warning.index("2027")


def test_reform_note_on_an_answer_that_names_no_scheme_says_2026(kb: KnowledgeBase) -> None:
    article = kb.article("alle-om-jobcenteret-reformen-2026")
    assert warning_of(article, kb) == "Reglerne er ændret i 2026. " + CHECK_THE_RULES


def test_reform_warning_lists_three_schemes_with_commas_and_og(kb: KnowledgeBase) -> None:
    article = kb.article("alle-rettigheder-bisidder").model_copy(
        update={"answer": "Jobcentret, jobrotation og mentorer.", "reform_note": True}
    )
    warning = warning_of(article, kb)
    assert warning == "Reglerne for jobcentre, jobrotation og mentorstøtte er ændret i 2026. " + CHECK_THE_RULES


def test_answer_naming_a_scheme_without_reform_note_gets_no_reform_line(kb: KnowledgeBase) -> None:
    article = kb.article("alle-rettigheder-bisidder").model_copy(update={"answer": "Spørg jobcentret."})
    assert warning_of(article, kb) is None


def test_old_municipal_policy_gets_an_age_line(kb: KnowledgeBase) -> None:
    article = kb.article("rodovre-om-jobcenteret-aktiveringstilbud")
    assert not article.reform_note
    assert warning_of(article, kb) == "Politikken er fra 2003. " + MAY_HAVE_CHANGED


def test_national_facts_checked_this_year_get_no_age_line(kb: KnowledgeBase) -> None:
    text = answer_text(kb, "alle-rettigheder-bisidder", Municipality.GLADSAXE)
    assert warning_of(kb.article("alle-rettigheder-bisidder"), kb) is None
    assert "Svaret bygger på de regler, der gælder i hele landet." in text


def test_national_facts_get_an_age_line_as_policies_do(kb: KnowledgeBase) -> None:
    later = date(TODAY.year + 2, 3, 1)
    assert warning_of(kb.article("alle-rettigheder-bisidder"), kb, later) == (
        "Oplysningerne er fra 2026. " + MAY_HAVE_CHANGED
    )
    assert warning_of(kb.article("alle-sygdom-fastholdelsesplan"), kb, later) == (
        "Oplysningerne er fra 2026. Der er varslet nye regler for sygedagpenge fra 2027. " + CHECK_THE_RULES
    )


def test_silent_policy_is_said_when_a_common_article_answers_ballerup(kb: KnowledgeBase) -> None:
    text = answer_text(kb, "alle-fleksjob-hvem-kan-faa", Municipality.BALLERUP)
    assert "Ballerup Kommunes beskæftigelsespolitik siger ikke noget om fleksjob." in text


def test_silent_line_is_not_said_where_the_policy_covers_the_topic(kb: KnowledgeBase) -> None:
    text = answer_text(kb, "alle-fleksjob-hvem-kan-faa", Municipality.RODOVRE)
    assert "siger ikke noget om" not in text


def test_answer_is_followed_by_a_feedback_prompt(kb: KnowledgeBase) -> None:
    _, prompt = answer_messages(kb.article("gladsaxe-kontakt-jobcenter"), kb, Municipality.GLADSAXE, TODAY)
    assert prompt == FEEDBACK_PROMPT
    assert prompt.text == "Var svaret en hjælp?"
    assert [b.title for b in prompt.buttons] == ["Ja", "Nej", "Tal med en medarbejder"]
    assert [b.payload for b in prompt.buttons] == [
        '/give_feedback{"helpful":"ja"}',
        '/give_feedback{"helpful":"nej"}',
        "/request_human",
    ]


# -- turns -------------------------------------------------------------------


def test_question_without_municipality_asks_for_it_and_keeps_the_question(engine: Engine) -> None:
    reply = turns.question(engine, Context("Hvad er et fleksjob?"))
    [message] = reply.messages
    assert message.custom["kind"] == Kind.CLARIFY.value
    assert [b.title for b in message.buttons] == ["Ballerup", "Gladsaxe", "Rødovre", "Rudersdal"]
    assert reply.slots == {slots.PENDING_QUESTION: "Hvad er et fleksjob?"}


def test_question_with_municipality_answers_from_that_municipality(engine: Engine) -> None:
    reply = turns.question(engine, Context("Hvad er et fleksjob?", Municipality.RODOVRE))
    answer = reply.messages[0]
    assert kinds(reply.messages) == [Kind.ANSWER.value]
    assert answer.custom["topic"] == Topic.FLEKSJOB.value
    assert engine.kb.article(answer.custom["article_id"]).municipality in (Municipality.RODOVRE, ALL_MUNICIPALITIES)
    assert reply.slots[slots.LAST_ARTICLE] == answer.custom["article_id"]
    assert reply.slots[slots.FALLBACK_STREAK] == 0


def test_set_municipality_answers_the_pending_question(engine: Engine) -> None:
    reply = turns.set_municipality(engine, Context("Rødovre", Municipality.RODOVRE), "Hvad er et fleksjob?")
    assert reply.messages[0].text == "Tak. Jeg svarer nu ud fra reglerne i Rødovre Kommune."
    assert kinds(reply.messages) == [Kind.ANSWER.value]
    assert reply.messages[1].custom["topic"] == Topic.FLEKSJOB.value
    assert reply.slots[slots.MUNICIPALITY] == "rodovre"
    assert reply.slots[slots.PENDING_QUESTION] is None
    assert reply.slots[slots.LAST_ARTICLE] == reply.messages[1].custom["article_id"]


def test_set_municipality_without_pending_question_acknowledges(engine: Engine) -> None:
    reply = turns.set_municipality(engine, Context("Gladsaxe", Municipality.GLADSAXE), None)
    assert [m.text for m in reply.messages] == ["Tak. Jeg svarer nu ud fra reglerne i Gladsaxe Kommune."]
    assert reply.slots == {slots.MUNICIPALITY: "gladsaxe", slots.PENDING_QUESTION: None}


def test_set_municipality_asks_again_when_none_was_recognised(engine: Engine) -> None:
    reply = turns.set_municipality(engine, Context("det ved jeg ikke"), "Hvad er et fleksjob?")
    [message] = reply.messages
    assert message.custom["kind"] == Kind.CLARIFY.value
    assert message.text.startswith("Hvilken kommune")
    assert reply.slots == {}


def test_another_municipality_is_told_the_assistant_covers_only_four(engine: Engine) -> None:
    reply = turns.set_municipality(engine, Context("Aarhus"), "Hvad er et fleksjob?")
    [message] = reply.messages
    assert message.text.startswith(
        "Jeg kan kun svare om jobcentrene i Ballerup, Gladsaxe, Rødovre og Rudersdal Kommune. "
        "Hører du til Aarhus Kommune, skal du kontakte jobcentret dér."
    )
    assert [b.title for b in message.buttons] == ["Ballerup", "Gladsaxe", "Rødovre", "Rudersdal"]
    assert reply.slots == {}


def test_question_naming_another_municipality_says_so_and_keeps_the_question(engine: Engine) -> None:
    reply = turns.question(engine, Context("kan jeg få fleksjob i Hvidovre"))
    assert "Hvidovre Kommune" in reply.messages[0].text
    assert reply.slots == {slots.PENDING_QUESTION: "kan jeg få fleksjob i Hvidovre"}


def test_fallback_naming_another_municipality_says_so_instead_of_not_understood(engine: Engine) -> None:
    reply = turns.fallback(engine, Context("jeg bor i kbh", Municipality.BALLERUP, fallback_streak=1))
    [message] = reply.messages
    assert "Københavns Kommune" in message.text
    assert message.custom["kind"] == Kind.CLARIFY.value
    assert reply.slots[slots.FALLBACK_STREAK] == 0


def test_out_of_scope_naming_another_municipality_names_the_four(engine: Engine) -> None:
    reply = turns.out_of_scope(engine, Context("jeg bor i Aarhus", Municipality.GLADSAXE, fallback_streak=1))
    [message] = reply.messages
    assert "Hører du til Aarhus Kommune" in message.text
    assert reply.slots == {slots.FALLBACK_STREAK: 0, slots.HANDOFF_OFFERED: False}


def test_audience_turn_naming_another_municipality_names_the_four(engine: Engine) -> None:
    reply = turns.set_audience(engine, Context("jeg bor i aarhus", Municipality.RUDERSDAL), None)
    [message] = reply.messages
    assert "Hører du til Aarhus Kommune" in message.text
    assert slots.AUDIENCE not in reply.slots


def test_out_of_scope_refuses_and_points_elsewhere(engine: Engine) -> None:
    reply = turns.out_of_scope(engine, Context("hvad skal jeg have til aftensmad", Municipality.GLADSAXE))
    assert kinds(reply.messages) == [Kind.OUT_OF_SCOPE.value]
    assert "borger.dk" in reply.messages[0].text
    assert reply.slots == {}


def test_out_of_scope_is_overruled_when_the_knowledge_base_is_certain(engine: Engine) -> None:
    reply = turns.out_of_scope(engine, Context("kan jeg få et kursus i excel", Municipality.RUDERSDAL))
    assert reply.messages[0].custom["article_id"] == "rudersdal-opkvalificering-ledige"
    assert reply.slots[slots.LAST_ARTICLE] == "rudersdal-opkvalificering-ledige"


@pytest.mark.parametrize("text", ["hej hvordan har du det i dag", "hvordan søger jeg boligstøtte", "hvad er 2+2"])
def test_out_of_scope_is_not_overruled_by_a_weaker_match(engine: Engine, text: str) -> None:
    reply = turns.out_of_scope(engine, Context(text, Municipality.GLADSAXE))
    assert kinds(reply.messages) == [Kind.OUT_OF_SCOPE.value]


def test_chosen_article_of_the_users_municipality_is_answered(engine: Engine) -> None:
    reply = turns.question(engine, Context("", Municipality.RODOVRE), article_id="rodovre-fleksjob-borger")
    assert reply.messages[0].custom["article_id"] == "rodovre-fleksjob-borger"


@pytest.mark.parametrize("article_id", ["rodovre-fleksjob-borger", "findes-ikke"])
def test_chosen_article_of_another_municipality_is_ignored(engine: Engine, article_id: str) -> None:
    reply = turns.question(engine, Context("", Municipality.GLADSAXE), article_id=article_id)
    assert kinds(reply.messages) == [Kind.FALLBACK.value]
    assert reply.messages, "nothing to check"
    assert all(m.custom.get("article_id") != article_id for m in reply.messages)


def test_chosen_common_article_is_answered_everywhere(engine: Engine) -> None:
    reply = turns.question(engine, Context("", Municipality.BALLERUP), article_id="alle-fleksjob-hvem-kan-faa")
    assert reply.messages[0].custom["article_id"] == "alle-fleksjob-hvem-kan-faa"


def test_unanswerable_question_asks_to_rephrase_first(engine: Engine) -> None:
    reply = turns.question(engine, Context("hvornår bliver mit skrald hentet", Municipality.GLADSAXE))
    assert kinds(reply.messages) == [Kind.FALLBACK.value]
    assert reply.slots == {slots.FALLBACK_STREAK: 1, slots.HANDOFF_OFFERED: False}


def test_second_unanswerable_question_in_a_row_offers_a_caseworker(engine: Engine) -> None:
    ctx = Context("hvornår bliver mit skrald hentet", Municipality.GLADSAXE, fallback_streak=1)
    reply = turns.question(engine, ctx)
    [offer] = reply.messages
    assert offer.custom == {"kind": Kind.HANDOFF.value, "offer": "fallback"}
    assert [b.title for b in offer.buttons] == ["Ja tak", "Nej tak"]
    assert reply.slots == {slots.HANDOFF_OFFERED: True, slots.HANDOFF_REASON: "fallback", slots.FALLBACK_STREAK: 0}


def test_fallback_answers_when_the_knowledge_base_is_sure(engine: Engine) -> None:
    reply = turns.fallback(engine, Context("fleksjob", Municipality.GLADSAXE))
    assert kinds(reply.messages) == [Kind.ANSWER.value]


def test_fallback_asks_to_rephrase_then_offers_a_caseworker(engine: Engine) -> None:
    first = turns.fallback(engine, Context("blablabla", Municipality.GLADSAXE))
    assert first.messages[0].custom == {"kind": Kind.FALLBACK.value, "reason": "not_understood"}
    second = turns.fallback(engine, Context("blablabla", Municipality.GLADSAXE, fallback_streak=1))
    assert kinds(second.messages) == [Kind.HANDOFF.value]
    assert second.slots[slots.HANDOFF_OFFERED] is True


def test_fallback_offers_a_caseworker_at_once_to_someone_with_little_danish(engine: Engine) -> None:
    reply = turns.fallback(engine, Context("jeg kan ikke tale dansk godt", Municipality.BALLERUP))
    [offer] = reply.messages
    assert offer.custom == {"kind": Kind.HANDOFF.value, "offer": "fallback"}
    assert "korte og enkle ord" in (offer.text or "") and "medarbejder" in (offer.text or "")
    assert reply.slots[slots.HANDOFF_OFFERED] is True


CRISIS_TEXT = "Jeg orker ikke mere, jeg tænker på selvmord"


@pytest.mark.parametrize("turn", [turns.question, turns.fallback, turns.personal_case, turns.complaint])
def test_crisis_wording_gets_emergency_numbers_and_no_answer(
    engine: Engine, turn: Callable[[Engine, Context], Reply]
) -> None:
    reply = turn(engine, Context(CRISIS_TEXT, Municipality.GLADSAXE))
    [message] = reply.messages
    assert message.custom["kind"] == Kind.CRISIS.value
    assert all(number in (message.text or "") for number in CRISIS_NUMBERS)
    assert reply.slots[slots.HANDOFF_REASON] == "crisis"
    assert reply.slots[slots.HANDOFF_OFFERED] is True


def test_crisis_is_answered_before_asking_for_the_municipality(engine: Engine) -> None:
    reply = turns.question(engine, Context(CRISIS_TEXT))
    assert kinds(reply.messages) == [Kind.CRISIS.value]


def test_personal_case_offers_a_caseworker_and_does_not_judge_the_case(engine: Engine) -> None:
    reply = turns.personal_case(engine, Context("Hvorfor har jeg fået en sanktion i min sag?", Municipality.GLADSAXE))
    offer, *general = reply.messages
    assert offer.custom == {"kind": Kind.HANDOFF.value, "offer": "personal_case"}
    assert "Jeg kan ikke se din sag, og jeg kan ikke vurdere den." in (offer.text or "")
    assert general, "nothing to check"
    assert kinds(reply.messages) == [Kind.HANDOFF.value]
    assert all((m.text or "").startswith("Det gælder generelt:") for m in general)
    assert reply.slots == {
        slots.HANDOFF_OFFERED: True,
        slots.HANDOFF_REASON: "personal_case",
        slots.FALLBACK_STREAK: 0,
    }


def test_personal_case_without_municipality_still_offers_a_caseworker(engine: Engine) -> None:
    reply = turns.personal_case(engine, Context("Hvornår får jeg svar i min sag?"))
    assert [m.custom.get("offer") for m in reply.messages] == ["personal_case"]


def test_complaint_offers_a_caseworker(engine: Engine) -> None:
    reply = turns.complaint(engine, Context("Jeg vil klage over jobcentret", Municipality.RUDERSDAL))
    offer = reply.messages[0]
    assert offer.custom == {"kind": Kind.HANDOFF.value, "offer": "complaint"}
    assert "Du har ret til at klage." in (offer.text or "")
    assert kinds(reply.messages) == [Kind.HANDOFF.value]
    assert reply.slots[slots.HANDOFF_REASON] == "complaint"


@pytest.mark.parametrize("municipality", list(Municipality), ids=lambda m: m.value)
def test_complaint_explains_how_to_complain(engine: Engine, municipality: Municipality) -> None:
    reply = turns.complaint(engine, Context("Jeg er sur over en afgørelse", municipality))
    general = [m.text or "" for m in reply.messages[1:]]
    assert any("klage" in text for text in general), general


def test_the_general_rule_names_its_article_and_sources(engine: Engine) -> None:
    reply = turns.complaint(engine, Context("Jeg er sur over en afgørelse", Municipality.RODOVRE))
    [general] = reply.messages[1:]
    assert "Kilde:" in (general.text or "")
    assert set(general.custom) == {"topic", "article_id", "sources"}
    assert general.custom["topic"] == engine.kb.article(general.custom["article_id"]).topic.value
    assert {s["municipality"] for s in general.custom["sources"]} <= {"rodovre", "alle"}


def test_complaint_about_a_caseworker_gets_the_complaint_rule(engine: Engine) -> None:
    reply = turns.complaint(engine, Context("Jeg er utilfreds med min sagsbehandler", Municipality.GLADSAXE))
    general = [m.text or "" for m in reply.messages[1:]]
    assert any("klage" in text for text in general), general


def test_crisis_reply_offers_a_caseworker() -> None:
    [message] = turns.crisis().messages
    assert message.text is not None
    assert "Livslinien" in message.text
    assert [b.payload for b in message.buttons] == ["/affirm", "/deny"]


def test_feedback_no_offers_a_caseworker() -> None:
    reply = turns.feedback("nej")
    assert [b.title for b in reply.messages[0].buttons] == ["Tal med en medarbejder"]
    assert reply.slots == {slots.ANSWER_HELPFUL: "nej"}


def test_feedback_yes_thanks() -> None:
    reply = turns.feedback("ja")
    assert reply.messages[0].text == "Tak for din tilbagemelding."
    assert reply.slots == {slots.ANSWER_HELPFUL: "ja"}


def test_set_audience_remembers_the_audience(engine: Engine) -> None:
    short = Context("vi er en virksomhed", Municipality.GLADSAXE)
    assert turns.set_audience(engine, short, Audience.VIRKSOMHED).slots == {slots.AUDIENCE: "virksomhed"}
    assert turns.set_audience(engine, short, None).slots == {}


def test_decline_handoff_clears_the_offer() -> None:
    assert turns.decline_handoff("nej tak").slots == {slots.HANDOFF_OFFERED: False, slots.HANDOFF_REASON: None}


# -- safety ------------------------------------------------------------------

CRISIS_PHRASINGS = [
    "jeg står på en bro og vil springe",
    "jeg tænker på at springe ud foran et tog",
    "Jeg tænker på selvmord",
    "jeg har selvmordstanker",
    "jeg overvejer at begå selvmord",
    "jeg er suicidal",
    "Jeg vil tage mit eget liv",
    "jeg vil tage mit liv",
    "Jeg har lyst til at slå mig selv ihjel",
    "jeg vil dræbe mig selv",
    "Jeg har lyst til at skade mig selv",
    "jeg vil gøre skade på mig selv",
    "Jeg kan ikke leve mere",
    "Jeg vil ikke leve mere",
    "jeg har ikke lyst til at leve mere",
    "jeg gider ikke leve mere",
    "Jeg vil bare dø",
    "jeg ønsker at dø",
    "jeg har lyst til at dø",
    "Jeg vil gøre en ende på det hele",
    "Jeg vil gøre en ende på mit liv",
    "jeg vil ende det hele",
    "Alle ville have det bedre uden mig",
    "SELVMORD",
]


@pytest.mark.parametrize("text", CRISIS_PHRASINGS)
def test_is_crisis_catches_self_harm_wording(text: str) -> None:
    assert is_crisis(text)


@pytest.mark.parametrize(
    "text",
    [
        "jeg vil tage livet af mig selv",
        "jeg har lyst til at tage livet af mig",
        "Jeg har skåret i mig selv igen",
        "jeg skader mig selv",
        "Jeg ønsker ikke at leve mere",
        "jeg orker ikke at leve længere",
        "Jeg ville ønske jeg var død",
        "Jeg vil hænge mig",
        "jeg har fået afslag igen og nu vil jeg bare ikke være her mere",
        "jeg har ikke lyst til at være i live",
        "hvis de stopper min ydelse så tager jeg livet af mig",
        "hvis jeg mister min kontanthjælp så slår jeg mig selv ihjel",
        "jeg tænker på at gøre en ende på det",
        "jeg har taget for mange piller",
        "ingen ville savne mig",
        "jeg har tanker om selvskade",
        "min kæreste slår mig og jeg tør ikke gå hjem",
        "i dont want to live anymore",
        "I want to kill myself",
    ],
)
def test_is_crisis_catches_common_suicide_and_self_harm_wordings(text: str) -> None:
    assert is_crisis(text)


# "mit job slår mig ihjel af kedsomhed" is a figure of speech about boredom:
# the job is what "kills", nobody harms themselves. The safety net is for
# clear self-harm wording, so it must not fire; the NLU model and the
# caseworker offer remain for anything less clear.
ORDINARY_SENTENCES = [
    "jeg vil springe over frokosten og søge job i stedet",
    "jeg er stresset på mit arbejde",
    "mit job slår mig ihjel af kedsomhed",
    "jeg er ved at kede mig ihjel",
    "jeg er ved at dø af grin",
    "jeg er sygemeldt med stress",
    "jeg er træt af at søge job",
    "Min chef driver mig til vanvid",
    "jeg er ked af, at jeg blev fyret",
    "Jeg har det svært med min økonomi",
    "Vi skal skære ned på medarbejdere",
    "min kollega har skadet sig selv på arbejdet",
    "jeg orker ikke flere møder på jobcentret",
    "jeg kan ikke være her i morgen, jeg er til tandlæge",
    "jeg vil ikke være her på kurset mere, det er for let",
    "jeg har taget mine piller, men jeg er stadig syg",
    "vi er bange for at miste en god medarbejder",
    "kan vi gøre en ende på praktikken før tid",
    "hvordan gør vi en ende på det her samarbejde",
]


@pytest.mark.parametrize("text", ORDINARY_SENTENCES)
def test_is_crisis_ignores_ordinary_stress_and_work_sentences(text: str) -> None:
    assert not is_crisis(text)


@pytest.mark.parametrize(
    "text",
    [
        "Jeg kan ikke leve af kontanthjælpen",
        "Jeg kan ikke leve af min løn i fleksjob",
        "Vi kan ikke leve op til rimelighedskravet",
        "Vores firma er ikke levedygtigt uden løntilskud",
    ],
)
def test_is_crisis_ignores_money_and_employer_sentences_with_ikke_leve(text: str) -> None:
    assert not is_crisis(text)


# -- audience ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Vi er en lille virksomhed i Rødovre",
        "vi er et firma med 20 ansatte",
        "Vi mangler folk til lageret",
        "vi søger medarbejdere",
        "Vi vil gerne ansætte en ledig",
        "vi ansætter nu",
        "vores virksomhed har brug for hjælp",
        "jeg er arbejdsgiver",
        "vores medarbejder er syg",
    ],
)
def test_infer_audience_recognises_employers(text: str) -> None:
    assert infer_audience(text) is Audience.VIRKSOMHED


@pytest.mark.parametrize(
    "text",
    ["Jeg er ledig og søger job", "min chef vil fyre mig", "jeg arbejder på et kontor", "Hvad er et fleksjob?", ""],
)
def test_infer_audience_leaves_citizens_undecided(text: str) -> None:
    assert infer_audience(text) is None


# -- contact -----------------------------------------------------------------


def test_contact_route_uses_the_municipalitys_contact_article(kb: KnowledgeBase) -> None:
    route = contact_route(kb, Municipality.GLADSAXE)
    assert "39 57 66 20" in route
    assert "jobcenter@gladsaxe.dk" in route


def test_contact_route_without_municipality_is_the_general_route(kb: KnowledgeBase) -> None:
    assert contact_route(kb, None) == GENERAL_ROUTE


# -- transcript --------------------------------------------------------------


def test_read_transcript_keeps_user_and_bot_lines_articles_and_topic() -> None:
    events = [
        {"event": "action", "name": "action_session_start"},
        {"event": "user", "text": "Hvad er et fleksjob?", "parse_data": {"intent": {"name": "ask_question"}}},
        {"event": "slot", "name": "municipality", "value": "gladsaxe"},
        {
            "event": "bot",
            "text": "Et fleksjob er ...",
            "data": {"custom": {"kind": "answer", "article_id": "alle-fleksjob-hvem-kan-faa", "topic": "fleksjob"}},
        },
        {"event": "bot", "text": "Var svaret en hjælp?", "data": {"buttons": []}},
        {"event": "user", "text": '/give_feedback{"helpful":"nej"}'},
        {"event": "user", "text": "Løntilskud?"},
        {
            "event": "bot",
            "text": "Løntilskud er ...",
            "data": {"custom": {"kind": "answer", "article_id": "gladsaxe-loentilskud-borger", "topic": "loentilskud"}},
        },
        {
            "event": "bot",
            "text": "Et fleksjob er ...",
            "data": {"custom": {"kind": "answer", "article_id": "alle-fleksjob-hvem-kan-faa", "topic": "fleksjob"}},
        },
        {"event": "user", "text": "/request_human"},
        {"event": "user", "text": "/affirm"},
        {"event": "user", "text": ""},
        {"event": "bot", "data": {"custom": {"kind": "handoff"}}},
    ]
    transcript = read_transcript(events)
    assert transcript.lines == [
        (Author.CITIZEN, "Hvad er et fleksjob?"),
        (Author.BOT, "Et fleksjob er ..."),
        (Author.BOT, "Var svaret en hjælp?"),
        (Author.CITIZEN, "(knap: svar på «Var svaret en hjælp?»)"),
        (Author.CITIZEN, "Løntilskud?"),
        (Author.BOT, "Løntilskud er ..."),
        (Author.BOT, "Et fleksjob er ..."),
        (Author.CITIZEN, "(knap: Tal med en medarbejder)"),
        (Author.CITIZEN, "(knap: affirm)"),
    ]
    assert transcript.article_ids == ["alle-fleksjob-hvem-kan-faa", "gladsaxe-loentilskud-borger"]
    assert transcript.topic == "fleksjob"


def test_read_transcript_of_no_events_is_empty() -> None:
    transcript = read_transcript([])
    assert (transcript.lines, transcript.article_ids, transcript.topic) == ([], [], None)


def test_set_audience_answers_a_question_in_the_same_message(engine: Engine) -> None:
    text = "Vi er en virksomhed og vil gerne ansætte en ledig. Kan vi få løntilskud?"
    reply = turns.set_audience(engine, Context(text, Municipality.RUDERSDAL), Audience.VIRKSOMHED)
    assert kinds(reply.messages) == ["answer"]
    assert reply.messages[0].custom["topic"] == "loentilskud"
    assert reply.slots[slots.AUDIENCE] == "virksomhed"


def test_set_municipality_answers_a_question_in_the_same_message(engine: Engine) -> None:
    text = "Jeg bor i Rødovre. Hvad er et fleksjob?"
    reply = turns.set_municipality(engine, Context(text, Municipality.RODOVRE), None)
    assert kinds(reply.messages) == ["answer"]
    assert reply.messages[0].text.startswith("Tak. Jeg svarer nu ud fra reglerne i Rødovre Kommune.")
    assert reply.slots[slots.MUNICIPALITY] == "rodovre"


def _annotated_feedback() -> list[tuple[str, str]]:
    """Every typed feedback example in the NLU data, with its annotated value."""
    data = yaml.safe_load((NLU_DIR / "feedback.yml").read_text(encoding="utf-8"))
    examples = next(item["examples"] for item in data["nlu"] if item.get("intent") == "give_feedback")
    pairs = []
    for line in examples.splitlines():
        value = re.search(r'"helpful", "value": "(ja|nej)"', line)
        if value:
            pairs.append((plain(line.removeprefix("- ")), value.group(1)))
    return pairs


def test_typed_feedback_agrees_with_every_annotated_example() -> None:
    pairs = _annotated_feedback()
    assert len(pairs) > 80
    assert [(text, typed_helpful(text)) for text, _ in pairs] == pairs


@pytest.mark.parametrize(
    ("text", "unwell"),
    [
        ("jeg har det ikke godt", True),
        ("Jeg har det ikke så godt i dag", True),
        ("jeg har det virkelig dårligt", True),
        ("har det skidt", True),
        ("jeg har det godt", False),
        ("nej tak", False),
        ("det har jeg ikke brug for", False),
        ("Jeg har det svært med min økonomi", False),
    ],
)
def test_says_unwell(text: str, unwell: bool) -> None:
    assert says_unwell(text) is unwell


@pytest.mark.parametrize(
    ("text", "little"),
    [
        ("jeg kan ikke tale dansk godt", True),
        ("Jeg taler kun lidt dansk", True),
        ("jeg er ikke så god til dansk", True),
        ("undskyld mit dårlige dansk", True),
        ("mit dansk er ikke så godt", True),
        ("I don't speak Danish", True),
        ("hvor kan jeg lære dansk", False),
        ("hvad hvis jeg ikke kan tale dansk, kan jeg så få fleksjob", False),
        ("jeg taler godt dansk", False),
        ("jeg har det ikke godt", False),
    ],
)
def test_says_little_danish(text: str, little: bool) -> None:
    assert says_little_danish(text) is little


# -- reading a message -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "follow_up"),
    [
        ("hvor længe varer det?", True),
        ("og hvis vi er en lille butik der gerne vil have en ung i et par timer?", True),
        ("Jeg har været ledig længe og vil gerne vide hvad jeg har krav på fra kommunen nu", False),
        ("", False),
    ],
)
def test_a_short_message_or_one_that_opens_as_a_follow_up_may_lean_on_the_subject(text: str, follow_up: bool) -> None:
    assert reading.is_follow_up(text) is follow_up


@pytest.mark.parametrize(
    ("text", "refers"),
    [("hvad skal jeg gøre for at få det", True), ("og hvis jeg bliver syg?", True), ("hvad er løntilskud", False)],
)
def test_words_that_point_back(text: str, refers: bool) -> None:
    assert reading.refers_back(text) is refers


def test_the_questions_in_a_long_message_are_found() -> None:
    text = (
        "Hej. Vi er en lille café i Ballerup med seks ansatte, og vi har travlt hele sommeren. "
        "Vi vil gerne ansætte en, der har været ledig i lang tid. Kan vi få løntilskud? "
        "Og hvor længe kan det vare?"
    )
    assert reading.questions_in(text) == ["Kan vi få løntilskud?", "Og hvor længe kan det vare?"]
    assert reading.questions_in("Kan vi få løntilskud? Og hvor længe?") == []


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("jeg har fået fleksjob, hvor længe gælder det", True),
        ("kan jeg klage", True),
        ("min sagsbehandler lytter ikke", False),
    ],
)
def test_a_question_is_a_question_mark_or_a_clause_that_asks(text: str, question: bool) -> None:
    assert reading.is_question(text) is question


# -- conversation: subject, follow-ups, switches -----------------------------


def asked(engine: Engine, text: str, municipality: Municipality, audience: Audience | None = None) -> Context:
    """The context after the question `text` was answered: its subject in the slots."""
    reply = turns.question(engine, Context(text, municipality, audience))
    return Context(
        "",
        municipality,
        audience,
        last_question=reply.slots[slots.LAST_QUESTION],
        last_article=reply.slots[slots.LAST_ARTICLE],
    )


def test_an_answer_remembers_its_question_as_the_subject(engine: Engine) -> None:
    reply = turns.question(engine, Context("hvad går virksomhedspraktik ud på", Municipality.GLADSAXE))
    assert reply.slots[slots.LAST_QUESTION] == "hvad går virksomhedspraktik ud på"
    assert reply.slots[slots.LAST_ARTICLE] == reply.messages[0].custom["article_id"]


def test_a_follow_up_is_answered_within_the_subject_and_says_so(engine: Engine) -> None:
    before = asked(engine, "hvad går virksomhedspraktik ud på", Municipality.BALLERUP, Audience.BORGER)
    reply = turns.question(engine, replace(before, text="hvor længe varer det"))
    answer = reply.messages[0]
    assert answer.custom["topic"] == Topic.VIRKSOMHEDSPRAKTIK.value
    assert answer.custom["parts"]["scope"].startswith("Jeg går ud fra, at du spørger videre om virksomhedspraktik.")
    assert "virksomhedspraktik" in reply.slots[slots.LAST_QUESTION]


def test_a_new_subject_is_not_forced_into_the_last_one(engine: Engine) -> None:
    before = asked(engine, "hvad går virksomhedspraktik ud på", Municipality.GLADSAXE, Audience.BORGER)
    reply = turns.question(engine, replace(before, text="hvad er en fastholdelsesplan"))
    assert reply.messages[0].custom["article_id"] == "alle-sygdom-fastholdelsesplan"
    assert "spørger videre" not in reply.messages[0].custom["parts"].get("scope", "")
    assert reply.slots[slots.LAST_QUESTION] == "hvad er en fastholdelsesplan"


@pytest.mark.parametrize("text", ["hvordan passer jeg min hund", "hvordan laver jeg lasagne"])
def test_a_follow_up_that_names_something_no_article_knows_is_not_answered_within_the_subject(
    engine: Engine, text: str
) -> None:
    before = asked(engine, "hvad er et fleksjob", Municipality.BALLERUP, Audience.BORGER)
    reply = turns.question(engine, replace(before, text=text, nlu_sure=False, leans_out_of_scope=True))
    assert not any("spørger videre" in (m.text or "") for m in reply.messages)
    assert reply.messages[0].custom.get("kind") != "answer"


def test_a_new_municipality_answers_the_last_question_again_for_it(engine: Engine) -> None:
    before = asked(engine, "hvordan kontakter jeg jobcentret", Municipality.RUDERSDAL)
    reply = turns.set_municipality(engine, replace(before, text="Gladsaxe", municipality=Municipality.GLADSAXE), None)
    assert reply.messages[0].text == "Tak. Jeg svarer nu ud fra reglerne i Gladsaxe Kommune."
    assert reply.messages[1].custom["article_id"] == "gladsaxe-kontakt-jobcenter"
    assert reply.slots[slots.MUNICIPALITY] == "gladsaxe"


def test_a_municipality_named_in_a_follow_up_answers_there(engine: Engine) -> None:
    before = asked(engine, "hvordan kontakter jeg jobcentret", Municipality.RUDERSDAL)
    reply = turns.question(engine, replace(before, text="og i Gladsaxe?", municipality=Municipality.GLADSAXE))
    assert reply.messages[0].custom["article_id"] == "gladsaxe-kontakt-jobcenter"
    assert reply.messages[0].custom["municipality"] == "gladsaxe"


def test_a_new_audience_answers_the_last_question_again_for_it(engine: Engine) -> None:
    before = asked(engine, "hvordan fungerer løntilskud", Municipality.RODOVRE, Audience.BORGER)
    assert engine.kb.article(before.last_article or "").audience == Audience.BORGER
    reply = turns.set_audience(engine, replace(before, text="jeg spørger for en virksomhed"), Audience.VIRKSOMHED)
    answer = reply.messages[0]
    assert answer.custom["topic"] == Topic.LOENTILSKUD.value
    assert engine.kb.article(answer.custom["article_id"]).audience in (Audience.VIRKSOMHED, "begge")
    assert reply.slots[slots.AUDIENCE] == "virksomhed"


def test_a_subject_without_an_article_is_said_honestly(engine: Engine) -> None:
    reply = turns.question(engine, Context("hvor meget får man i ledighedsydelse", Municipality.GLADSAXE))
    [offer] = reply.messages
    assert offer.custom == {"kind": Kind.HANDOFF.value, "offer": "fallback", "missing": "ledighedsydelse"}
    assert "ikke noget om ledighedsydelse" in (offer.text or "")
    assert [b.title for b in offer.buttons] == ["Ja tak", "Nej tak"]
    assert reply.slots[slots.HANDOFF_OFFERED] is True
    assert reply.slots[slots.LAST_ARTICLE] is None


def test_after_a_subject_without_an_article_a_new_question_is_answered(engine: Engine) -> None:
    gap = turns.question(engine, Context("findes der seniorjob", Municipality.RUDERSDAL))
    after = Context(
        "kan jeg så komme i løntilskud i stedet",
        Municipality.RUDERSDAL,
        Audience.BORGER,
        last_question=gap.slots[slots.LAST_QUESTION],
    )
    reply = turns.question(engine, after)
    assert reply.messages[0].custom["topic"] == Topic.LOENTILSKUD.value


def test_english_is_answered_in_english_with_a_caseworker(engine: Engine) -> None:
    for turn in (turns.question, turns.fallback, turns.out_of_scope, turns.personal_case, turns.complaint):
        reply = turn(engine, Context("Hello, can you help me find a job in English?", Municipality.GLADSAXE))
        [offer] = reply.messages
        assert offer.custom == {"kind": Kind.HANDOFF.value, "offer": "fallback", "language": "en"}
        assert "only answer in Danish" in (offer.text or "")
        assert [b.payload for b in offer.buttons] == ["/affirm", "/deny"]
        assert reply.slots[slots.HANDOFF_OFFERED] is True


@pytest.mark.parametrize("text", ["kan jeg få fleksjob", "vi søger en medarbejder til vores team", "ok thanks"])
def test_danish_and_a_stray_english_word_are_not_english(text: str) -> None:
    assert not is_english(text)


def test_a_long_message_answers_the_main_question_and_offers_the_other(engine: Engine) -> None:
    text = (
        "Hej. Vi er en lille café i Ballerup med seks ansatte, og vi har travlt hele sommeren. "
        "Vi vil gerne ansætte en, der har været ledig i lang tid. Kan vi få tilskud til lønnen? "
        "Og hvor længe kan det vare?"
    )
    reply = turns.question(engine, Context(text, Municipality.BALLERUP, Audience.VIRKSOMHED))
    answer = reply.messages[0]
    assert answer.custom["topic"] == Topic.LOENTILSKUD.value
    assert answer.custom["other_question"] == "alle-loentilskud-varighed"
    assert answer.buttons[0].title == "Dit andet spørgsmål: Hvor længe varer et løntilskudsjob?"
    assert answer.buttons[0].payload == '/ask_question{"article_id":"alle-loentilskud-varighed"}'


def test_an_answer_offers_close_runners_up_as_see_also(engine: Engine) -> None:
    answer = turns.question(engine, Context("hvad er fleksjob", Municipality.RODOVRE, Audience.BORGER)).messages[0]
    assert answer.buttons
    assert all(b.title.startswith("Se også: ") for b in answer.buttons)
    assert [b.payload for b in answer.buttons] == [
        f'/ask_question{{"article_id":"{article_id}"}}' for article_id in answer.custom["see_also"]
    ]
    assert answer.custom["article_id"] not in answer.custom["see_also"]


def test_a_how_to_complain_question_is_answered_not_turned_into_an_offer(engine: Engine) -> None:
    reply = turns.complaint(engine, Context("hvordan klager jeg over en afgørelse?", Municipality.GLADSAXE))
    answer = reply.messages[0]
    assert answer.custom["kind"] == Kind.ANSWER.value
    assert answer.custom["article_id"] == "alle-rettigheder-klage"
    assert answer.custom["parts"]["scope"].startswith(turns.COMPLAINT_NOTE)


def test_a_general_question_read_as_ones_own_case_is_answered_as_the_general_rule(engine: Engine) -> None:
    reply = turns.personal_case(engine, Context("jeg har fået fleksjob, hvor længe gælder det", Municipality.GLADSAXE))
    answer = reply.messages[0]
    assert answer.custom["article_id"] == "alle-fleksjob-varighed-permanent"
    assert answer.custom["parts"]["scope"].startswith(turns.GENERAL_RULE_NOTE)


def test_a_short_follow_up_called_out_of_scope_is_answered_when_its_words_support_it(engine: Engine) -> None:
    before = asked(engine, "hvad går virksomhedspraktik ud på", Municipality.GLADSAXE, Audience.BORGER)
    supported = turns.out_of_scope(engine, replace(before, text="hvor mange uger"))
    assert supported.messages[0].custom["topic"] == Topic.VIRKSOMHEDSPRAKTIK.value
    unrelated = turns.out_of_scope(engine, replace(before, text="hvornår åbner svømmehallen"))
    assert kinds(unrelated.messages) == [Kind.OUT_OF_SCOPE.value]


@pytest.mark.parametrize(
    ("intent", "ranking", "signals"),
    [
        ("ask_question", [("ask_question", 0.9), ("out_of_scope", 0.05)], (True, False)),
        ("ask_question", [("ask_question", 0.6), ("out_of_scope", 0.3)], (False, False)),
        ("ask_question", [("ask_question", 0.45), ("complaint", 0.3)], (False, False)),
        ("nlu_fallback", [("nlu_fallback", 1.0), ("out_of_scope", 0.44), ("ask_question", 0.23)], (False, True)),
        ("out_of_scope", [("out_of_scope", 0.8), ("ask_question", 0.1)], (False, True)),
    ],
)
def test_the_nlu_model_is_sure_of_a_question_only_with_a_margin_over_out_of_scope(
    intent: str, ranking: list[tuple[str, float]], signals: tuple[bool, bool]
) -> None:
    assert turns.nlu_signals(intent, [{"name": n, "confidence": c} for n, c in ranking]) == signals


def test_a_fallback_leaning_out_of_scope_gets_no_near_miss(engine: Engine) -> None:
    ctx = Context("kan jeg få boligstøtte når jeg er arbejdsløs", Municipality.GLADSAXE)
    assert kinds(turns.fallback(engine, replace(ctx, leans_out_of_scope=True)).messages) == [Kind.FALLBACK.value]
