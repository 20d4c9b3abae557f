"""What the assistant does in each kind of turn, independent of Rasa.

Each function takes what the user wrote and what the conversation knows
(`Context`) and returns the messages to send and the slots to set (`Reply`).
The custom actions in actions/ only read the tracker and dispatch the reply.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from bot.dialogue.answers import (
    HUMAN_BUTTON,
    answer_messages,
    clarify_message,
    municipality_question,
    no_answer_message,
    out_of_scope_message,
)
from bot.dialogue.language import says_little_danish
from bot.dialogue.messages import BotMessage, Button, Kind, intent_payload
from bot.knowledge.engine import Decision, Engine
from bot.knowledge.schema import Article
from bot.safety import EMERGENCY_LINES, is_crisis, says_unwell
from bot.taxonomy import Audience, Municipality, find_other_municipality

# Slot names, shared with domain.yml.
MUNICIPALITY = "municipality"
AUDIENCE = "audience"
PENDING_QUESTION = "pending_question"
FALLBACK_STREAK = "fallback_streak"
LAST_ARTICLE = "last_article_id"
ANSWER_HELPFUL = "answer_helpful"
HANDOFF_OFFERED = "handoff_offered"
HANDOFF_REASON = "handoff_reason"

#: Failed turns in a row before the assistant offers a caseworker.
FALLBACKS_BEFORE_OFFER = 2
#: NLU confidence in `ask_question` from which the knowledge engine may
#: answer on weaker matches (two independent signals agree). The intent
#: confidence is mostly the linear model's (bot/nlu/components.py), less
#: peaked than DIET's; the end-to-end run of `make bench-nlu` chose 0.5
#: (0.4 answers the same, 0.6 two questions fewer).
NLU_SURE = 0.5
#: Finds the general complaint rule (the user's own words describe their
#: grievance, not the rule they need).
COMPLAINT_QUERY = "Hvordan klager jeg over en afgørelse fra kommunen? Klagefrist og Ankestyrelsen"

YES_NO = (Button("Ja tak", intent_payload("affirm")), Button("Nej tak", intent_payload("deny")))


@dataclass(frozen=True)
class Context:
    text: str
    municipality: Municipality | None = None
    audience: Audience | None = None
    fallback_streak: int = 0
    #: The NLU model is sure this is an employment question.
    nlu_sure: bool = False


@dataclass
class Reply:
    messages: list[BotMessage]
    slots: dict[str, Any] = field(default_factory=dict)


def _offer(reason: str, text: str, kind: Kind = Kind.HANDOFF, **custom: Any) -> BotMessage:
    return BotMessage(text=text, buttons=YES_NO, custom={"kind": kind.value, "offer": reason, **custom})


def _offer_slots(reason: str) -> dict[str, Any]:
    return {HANDOFF_OFFERED: True, HANDOFF_REASON: reason, FALLBACK_STREAK: 0}


def crisis() -> Reply:
    message = _offer(
        "crisis",
        f"Det lyder meget svært, og det er godt, at du skriver.\n{EMERGENCY_LINES}\n"
        "Vil du have, at en medarbejder fra kommunen kontakter dig?",
        kind=Kind.CRISIS,
    )
    return Reply([message], _offer_slots("crisis"))


def _missed(ctx: Context, first_time: BotMessage) -> Reply:
    """A turn the assistant could not handle: rephrase first, then a person.
    Someone who says they have little Danish is offered a person at once."""
    if says_little_danish(ctx.text):
        offer = _offer(
            "fallback",
            "Det er helt i orden. Skriv gerne med korte og enkle ord, så prøver jeg igen.\n"
            "Du kan også tale med en medarbejder. Vil du det?",
        )
        return Reply([offer], _offer_slots("fallback"))
    streak = ctx.fallback_streak + 1
    if streak < FALLBACKS_BEFORE_OFFER:
        return Reply([first_time], {FALLBACK_STREAK: streak, HANDOFF_OFFERED: False})
    offer = _offer(
        "fallback",
        "Jeg kan desværre ikke hjælpe dig med det. Vil du tale med en medarbejder?",
    )
    return Reply([offer], _offer_slots("fallback"))


def question(engine: Engine, ctx: Context, article_id: str | None = None) -> Reply:
    """Answer from the knowledge base, ask which article, or say there is none."""
    if is_crisis(ctx.text):
        return crisis()
    if ctx.municipality is None:
        return Reply([municipality_question(find_other_municipality(ctx.text))], {PENDING_QUESTION: ctx.text})
    chosen = _visible_article(engine, article_id, ctx.municipality)
    if chosen is not None:
        return _answer(engine, chosen, ctx.municipality)
    result = engine.search(ctx.text, ctx.municipality, ctx.audience, nlu_sure=ctx.nlu_sure)
    if result.decision is Decision.ANSWER and result.best:
        return _answer(engine, result.best.article.id, ctx.municipality)
    if result.decision is Decision.CLARIFY:
        return Reply([clarify_message(result.hits)], {FALLBACK_STREAK: 0, HANDOFF_OFFERED: False})
    return _missed(ctx, no_answer_message())


def _visible_article(engine: Engine, article_id: str | None, municipality: Municipality) -> str | None:
    """The chosen article id if the user's municipality may see it."""
    if not article_id:
        return None
    try:
        article = engine.kb.article(article_id)
    except KeyError:
        return None
    return article_id if article.is_common or article.municipality == municipality else None


def _sure_article(engine: Engine, ctx: Context, query: str) -> Article | None:
    """The article the knowledge base is sure answers `query`, if any."""
    if ctx.municipality is None:
        return None
    result = engine.search(query, ctx.municipality, ctx.audience)
    return result.best.article if result.decision is Decision.ANSWER and result.best else None


def _sure_answer(engine: Engine, ctx: Context) -> Reply | None:
    """The knowledge base's answer to the message, when it is sure of one."""
    article = _sure_article(engine, ctx, ctx.text)
    return _answer(engine, article.id, ctx.municipality) if article and ctx.municipality else None


def _answer(engine: Engine, article_id: str, municipality: Municipality) -> Reply:
    article = engine.kb.article(article_id)
    return Reply(
        answer_messages(article, engine.kb, municipality),
        {LAST_ARTICLE: article.id, FALLBACK_STREAK: 0, HANDOFF_OFFERED: False, PENDING_QUESTION: None},
    )


def fallback(engine: Engine, ctx: Context) -> Reply:
    """The NLU model was unsure: try the knowledge base, else ask to rephrase."""
    understood = _unwell(ctx.text) or _sure_answer(engine, ctx) or _other_municipality(ctx)
    if understood:
        return understood
    rephrase = BotMessage(
        text="Undskyld, det forstod jeg ikke helt. Vil du skrive det på en anden måde?",
        custom={"kind": Kind.FALLBACK.value, "reason": "not_understood"},
    )
    return _missed(ctx, rephrase)


def _other_municipality(ctx: Context) -> Reply | None:
    """Tell a user who names another municipality which four are covered."""
    other = find_other_municipality(ctx.text)
    if not other:
        return None
    return Reply([municipality_question(other)], {FALLBACK_STREAK: 0, HANDOFF_OFFERED: False})


def _certain_answer(engine: Engine, ctx: Context) -> Reply | None:
    """The answer when the knowledge base is certain enough to overrule the NLU model."""
    if ctx.municipality is None:
        return None
    result = engine.search(ctx.text, ctx.municipality, ctx.audience)
    if result.best and engine.is_certain(result):
        return _answer(engine, result.best.article.id, ctx.municipality)
    return None


def out_of_scope(engine: Engine, ctx: Context) -> Reply:
    """Not an employment question, says the NLU model. A user who names another
    municipality ("jeg bor i København") is told which four the assistant
    covers; a question the knowledge base is certain of is answered."""
    if is_crisis(ctx.text):
        return crisis()
    return _other_municipality(ctx) or _certain_answer(engine, ctx) or Reply([out_of_scope_message()])


#: What a general rule beside a caseworker offer says of its article.
GENERAL_RULE_KEYS = ("topic", "article_id", "sources")


def _general_rule(engine: Engine, ctx: Context, *queries: str) -> BotMessage | None:
    """The general rule from the knowledge base: a cited answer without a kind."""
    for query in queries:
        article = _sure_article(engine, ctx, query)
        if article and ctx.municipality:
            answer = answer_messages(article, engine.kb, ctx.municipality)[0]
            custom = {key: answer.custom[key] for key in GENERAL_RULE_KEYS}
            return BotMessage(text="Det gælder generelt:\n" + (answer.text or ""), custom=custom)
    return None


def personal_case(engine: Engine, ctx: Context) -> Reply:
    """Never guess about someone's own case: give the general rule and a person."""
    if is_crisis(ctx.text):
        return crisis()
    offer = _offer(
        "personal_case",
        "Jeg kan ikke se din sag, og jeg kan ikke vurdere den. Det kan en medarbejder.\n"
        "Vil du tale med en medarbejder om din sag?",
    )
    general = _general_rule(engine, ctx, ctx.text)
    return Reply([offer, *([general] if general else [])], _offer_slots("personal_case"))


def complaint(engine: Engine, ctx: Context) -> Reply:
    """Explain how complaints work, and offer a caseworker."""
    if is_crisis(ctx.text):
        return crisis()
    offer = _offer(
        "complaint",
        "Jeg er ked af, at du er utilfreds. Du har ret til at klage.\nVil du tale med en medarbejder om det?",
    )
    general = _general_rule(engine, ctx, COMPLAINT_QUERY)
    return Reply([offer, *([general] if general else [])], _offer_slots("complaint"))


#: A message this long, or with a question mark, may be a question as well
#: as an introduction ("Vi er en virksomhed i Gladsaxe. Kan vi få løntilskud?").
QUESTION_MIN_WORDS = 6


def _own_question(engine: Engine, ctx: Context) -> Reply | None:
    """The answer when the message itself is a question the knowledge base answers."""
    if "?" not in ctx.text and len(ctx.text.split()) < QUESTION_MIN_WORDS:
        return None
    return _sure_answer(engine, ctx)


def set_municipality(engine: Engine, ctx: Context, pending_question: str | None) -> Reply:
    """Remember the municipality; answer the question that was waiting for it, or this one."""
    if ctx.municipality is None:
        return Reply([municipality_question(find_other_municipality(ctx.text))])
    ack = f"Tak. Jeg svarer nu ud fra reglerne i {ctx.municipality.label} Kommune."
    slots: dict[str, Any] = {MUNICIPALITY: ctx.municipality.value, PENDING_QUESTION: None}
    if pending_question:
        answered = question(engine, Context(pending_question, ctx.municipality, ctx.audience))
    else:
        answered = _own_question(engine, ctx)
    if answered:
        return Reply([BotMessage(text=ack), *answered.messages], {**slots, **answered.slots})
    return Reply([BotMessage(text=ack, custom={"kind": Kind.SMALLTALK.value})], slots)


def set_audience(engine: Engine, ctx: Context, audience: Audience | None) -> Reply:
    """Remember who is asking; answer at once if the message also asks something."""
    if audience is None:
        # "jeg bor i Aarhus" may be read as telling who is asking.
        return _other_municipality(ctx) or Reply(
            [BotMessage(text="Hvad vil du gerne vide?", custom={"kind": Kind.SMALLTALK.value})]
        )
    slots = {AUDIENCE: audience.value}
    answered = _own_question(engine, replace(ctx, audience=audience))
    if answered:
        return Reply(answered.messages, {**slots, **answered.slots})
    who = "virksomhed" if audience is Audience.VIRKSOMHED else "borger"
    text = f"Tak. Så svarer jeg dig som {who}. Hvad vil du gerne vide?"
    return Reply([BotMessage(text=text, custom={"kind": Kind.SMALLTALK.value})], slots)


def form_digression(engine: Engine, ctx: Context) -> Reply | None:
    """A question typed in the middle of the handoff form, when the NLU model
    and the knowledge base are both sure of it: the cited answer, without the
    feedback buttons (the form is waiting for its own answer and asks again)."""
    if not ctx.nlu_sure or ctx.municipality is None:
        return None
    result = engine.search(ctx.text, ctx.municipality, ctx.audience, nlu_sure=True)
    if result.decision is not Decision.ANSWER or not result.best:
        return None
    article = result.best.article
    return Reply(answer_messages(article, engine.kb, ctx.municipality)[:1], {LAST_ARTICLE: article.id})


def feedback(helpful: str | None, article_id: str | None = None, question: str | None = None) -> Reply:
    """Record whether the last answer helped. `custom.feedback` tells the
    front door's turn record which answer (and, for a "nej", which question);
    the front door removes it. A "nej" invites a short comment, which the
    client sends to POST /api/feedback."""
    said = {"helpful": helpful, "article_id": article_id, "question": question if helpful == "nej" else None}
    if helpful == "nej":
        message = BotMessage(
            text="Tak, fordi du siger det. Prøv at stille spørgsmålet på en anden måde, eller tal med en medarbejder.\n"
            "Du må gerne skrive kort, hvad du manglede i svaret. Det er frivilligt.",
            buttons=(HUMAN_BUTTON,),
            custom={"kind": Kind.SMALLTALK.value, "invite_comment": True, "feedback": said},
        )
    else:
        message = BotMessage(
            text="Tak for din tilbagemelding.", custom={"kind": Kind.SMALLTALK.value, "feedback": said}
        )
    return Reply([message], {ANSWER_HELPFUL: helpful})


def decline_handoff(text: str) -> Reply:
    """No to the offer of a caseworker, unless the "no" says they feel unwell."""
    return _unwell(text) or Reply([_anything_else()], {HANDOFF_OFFERED: False, HANDOFF_REASON: None})


def deny(text: str) -> Reply:
    """A "no" out of context, unless it says they feel unwell."""
    return _unwell(text) or Reply([_anything_else()])


def _unwell(text: str) -> Reply | None:
    """The help lines for words such as "jeg har det ikke godt", which the
    NLU model may read as a plain no or not understand at all."""
    return crisis() if is_crisis(text) or says_unwell(text) else None


def _anything_else() -> BotMessage:
    return BotMessage(text="Helt i orden. Hvad kan jeg ellers hjælpe med?", custom={"kind": Kind.SMALLTALK.value})


def restarted() -> Reply:
    return Reply(
        [BotMessage(text="Samtalen er startet forfra. Hvad vil du gerne vide?", custom={"kind": Kind.SMALLTALK.value})]
    )
