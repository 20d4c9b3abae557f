"""What the assistant does in each kind of turn, independent of Rasa.

Each function takes what the user wrote and what the conversation knows
(`Context`) and returns the messages to send and the slots to set (`Reply`).
The custom actions in actions/ only read the tracker and dispatch the reply.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from bot.dialogue import slots
from bot.dialogue.answers import (
    HUMAN_BUTTON,
    Extras,
    answer_messages,
    clarify_message,
    municipality_question,
    no_answer_message,
    out_of_scope_message,
)
from bot.dialogue.finding import Asked, Finding, find
from bot.dialogue.handoff import already_in_queue
from bot.dialogue.language import is_english, says_little_danish
from bot.dialogue.messages import BotMessage, Button, Kind, intent_payload
from bot.dialogue.reading import is_follow_up, is_question, is_search_phrase, refers_back
from bot.knowledge.engine import Decision, Engine, Subject
from bot.knowledge.gaps import Gap
from bot.knowledge.schema import Article
from bot.safety import EMERGENCY_LINES, is_crisis, says_unwell
from bot.taxonomy import Audience, HandoffReason, Municipality, find_other_municipality

#: The message metadata in which the front door tells the dialogue the
#: citizen's place in the live-chat queue.
QUEUE_POSITION = "queue_position"
#: Failed turns in a row before the assistant offers a caseworker.
FALLBACKS_BEFORE_OFFER = 2
#: NLU confidence in `ask_question` from which the knowledge engine may
#: answer on weaker matches (two independent signals agree). The intent
#: confidence is mostly the linear model's (bot/nlu/components.py), less
#: peaked than DIET's; the end-to-end run of `make bench-nlu` chose 0.5
#: (0.4 answers the same, 0.6 two questions fewer).
NLU_SURE = 0.5
#: ... and with this much more confidence than in `out_of_scope`: a model
#: torn between a question and out of scope is not sure. Chosen on the
#: development sets with the trained model: at 0.5 two of the seven
#: out-of-scope questions it reads as questions are still answered (three at
#: 0.4), and one answerable question fewer is answered right.
NLU_SURE_MARGIN = 0.5
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
    #: The conversation's subject: the last answered question and its article.
    last_question: str | None = None
    last_article: str | None = None
    #: The NLU model found it likelier out of scope than a question.
    leans_out_of_scope: bool = False
    #: The citizen's place in the live-chat queue, when they are in it.
    queue_position: int | None = None


def nlu_signals(intent: str | None, ranking: list[dict[str, Any]]) -> tuple[bool, bool]:
    """From the NLU model's output: (sure it is an employment question,
    leaning out of scope rather than a question)."""
    confidence = {i.get("name"): float(i.get("confidence") or 0) for i in ranking}
    question, outside = confidence.get("ask_question", 0.0), confidence.get("out_of_scope", 0.0)
    sure = intent == "ask_question" and question >= NLU_SURE and question - outside >= NLU_SURE_MARGIN
    return sure, outside > question


@dataclass
class Reply:
    messages: list[BotMessage]
    slots: dict[str, Any] = field(default_factory=dict)


def _offer(reason: HandoffReason, text: str, kind: Kind = Kind.HANDOFF, **custom: Any) -> BotMessage:
    return BotMessage(text=text, buttons=YES_NO, custom={"kind": kind.value, "offer": reason.value, **custom})


def _offer_slots(reason: HandoffReason) -> dict[str, Any]:
    return {slots.HANDOFF_OFFERED: True, slots.HANDOFF_REASON: reason.value, slots.FALLBACK_STREAK: 0}


def in_queue(reply: Reply, position: int) -> Reply:
    """A citizen already waiting for a caseworker is never offered one again:
    each offer becomes their place in the queue (crisis wording keeps the
    emergency numbers)."""
    messages = [_queued(message, position) if message.custom.get("offer") else message for message in reply.messages]
    kept = {name: value for name, value in reply.slots.items() if name != slots.HANDOFF_REASON}
    return Reply(messages, {**kept, slots.HANDOFF_OFFERED: False})


def _queued(offer: BotMessage, position: int) -> BotMessage:
    text = already_in_queue(position)
    if offer.custom.get("offer") == HandoffReason.CRISIS.value:
        text = f"{CRISIS_OPENING}\n{EMERGENCY_LINES}\n{text}"
    return BotMessage(text=text, custom={"kind": offer.custom["kind"], "queue": position})


CRISIS_OPENING = "Det lyder meget svært, og det er godt, at du skriver."


def queued(position: int) -> Reply:
    """Asked for a caseworker while already waiting for one."""
    notice = BotMessage(text=already_in_queue(position), custom={"kind": Kind.HANDOFF.value, "queue": position})
    return Reply([notice], {slots.HANDOFF_OFFERED: False})


def crisis() -> Reply:
    message = _offer(
        HandoffReason.CRISIS,
        f"{CRISIS_OPENING}\n{EMERGENCY_LINES}\nVil du have, at en medarbejder fra kommunen kontakter dig?",
        kind=Kind.CRISIS,
    )
    return Reply([message], _offer_slots(HandoffReason.CRISIS))


#: In English: the assistant answers only in Danish; a caseworker can help.
ENGLISH_OFFER = (
    "Sorry, I can only answer in Danish: the rules I answer from are written in Danish.\n"
    "A caseworker from the municipality can help you. You can chat with a caseworker now, "
    "or choose «Ring eller skriv til mig» (call or write to me) to be contacted later.\n"
    "Would you like to talk to a caseworker?"
)
ENGLISH_BUTTONS = (Button("Yes, please", intent_payload("affirm")), Button("No, thanks", intent_payload("deny")))


def english() -> Reply:
    """A message in English gets an English reply and the offer of a caseworker."""
    message = _offer(HandoffReason.FALLBACK, ENGLISH_OFFER, language="en")
    return Reply([replace(message, buttons=ENGLISH_BUTTONS)], _offer_slots(HandoffReason.FALLBACK))


def _first_things(ctx: Context) -> Reply | None:
    """Before anything else: the help lines on crisis wording, English in English."""
    if is_crisis(ctx.text):
        return crisis()
    return english() if is_english(ctx.text) else None


def _missed(ctx: Context, first_time: BotMessage) -> Reply:
    """A turn the assistant could not handle: rephrase first, then a person.
    Someone who says they have little Danish is offered a person at once."""
    if says_little_danish(ctx.text):
        offer = _offer(
            HandoffReason.FALLBACK,
            "Det er helt i orden. Skriv gerne med korte og enkle ord, så prøver jeg igen.\n"
            "Du kan også tale med en medarbejder. Vil du det?",
        )
        return Reply([offer], _offer_slots(HandoffReason.FALLBACK))
    streak = ctx.fallback_streak + 1
    if streak < FALLBACKS_BEFORE_OFFER:
        return Reply([first_time], {slots.FALLBACK_STREAK: streak, slots.HANDOFF_OFFERED: False})
    offer = _offer(
        HandoffReason.FALLBACK,
        "Jeg kan desværre ikke hjælpe dig med det. Vil du tale med en medarbejder?",
    )
    return Reply([offer], _offer_slots(HandoffReason.FALLBACK))


def question(engine: Engine, ctx: Context, article_id: str | None = None) -> Reply:
    """Answer from the knowledge base, ask which article, or say there is none."""
    first = _first_things(ctx)
    if first:
        return first
    if ctx.municipality is None:
        return Reply([municipality_question(find_other_municipality(ctx.text))], {slots.PENDING_QUESTION: ctx.text})
    chosen = _visible_article(engine, article_id, ctx.municipality)
    if chosen is not None:
        return _chosen(engine, ctx.municipality, engine.kb.article(chosen))
    finding = find(engine, _asked(engine, ctx, ctx.municipality))
    return _reply(engine, ctx.municipality, finding) or _missed(ctx, no_answer_message())


def _chosen(engine: Engine, municipality: Municipality, article: Article) -> Reply:
    """The article the user chose with a button; its title is the new subject."""
    return _answer(engine, municipality, Finding(engine.search(article.title, municipality), article.title), article)


def _asked(engine: Engine, ctx: Context, municipality: Municipality, nlu_sure: bool | None = None) -> Asked:
    sure = ctx.nlu_sure if nlu_sure is None else nlu_sure
    return Asked(ctx.text, municipality, ctx.audience, sure, _subject(engine, ctx))


def _subject(engine: Engine, ctx: Context) -> Subject | None:
    """What the conversation is about, from the last answered question."""
    if not ctx.last_question:
        return None
    try:
        topic = engine.kb.article(ctx.last_article).topic if ctx.last_article else None
    except KeyError:
        topic = None
    return Subject(ctx.last_question, topic)


def _reply(
    engine: Engine, municipality: Municipality, finding: Finding, clarify: bool = True, note: str | None = None
) -> Reply | None:
    """The reply to what the knowledge base found: an answer, an honest "no
    article on that", or (only when `clarify`) a choice between articles."""
    result = finding.result
    if finding.gap:
        return _gap(finding.gap, finding.query)
    if result.decision is Decision.ANSWER and result.best:
        return _answer(engine, municipality, finding, result.best.article, note)
    if clarify and result.decision is Decision.CLARIFY:
        return Reply([clarify_message(result.hits)], {slots.FALLBACK_STREAK: 0, slots.HANDOFF_OFFERED: False})
    return None


def _gap(gap: Gap, query: str) -> Reply:
    """Say honestly that no article covers the subject, and offer a caseworker."""
    offer = _offer(
        HandoffReason.FALLBACK,
        f"Det har jeg desværre ikke et svar på. Der står ikke noget om {gap.label} i de regler og politikker, "
        "jeg svarer ud fra.\nEn medarbejder kan svare dig. Du kan også læse mere på borger.dk.\n"
        "Vil du tale med en medarbejder?",
        missing=gap.label,
    )
    subject = {slots.LAST_QUESTION: query, slots.LAST_ARTICLE: None}
    return Reply([offer], {**_offer_slots(HandoffReason.FALLBACK), **subject})


def _visible_article(engine: Engine, article_id: str | None, municipality: Municipality) -> str | None:
    """The chosen article id if the user's municipality may see it."""
    if not article_id:
        return None
    try:
        article = engine.kb.article(article_id)
    except KeyError:
        return None
    return article_id if article.is_common or article.municipality == municipality else None


def _sure_finding(engine: Engine, ctx: Context, text: str | None = None) -> Finding | None:
    """What the knowledge base is sure answers the message (or `text`), if anything."""
    if ctx.municipality is None:
        return None
    asked = _asked(engine, replace(ctx, text=text or ctx.text), ctx.municipality, nlu_sure=False)
    finding = find(engine, asked)
    sure = not finding.gap and finding.result.decision is Decision.ANSWER and finding.result.best
    return finding if sure else None


def _sure_answer(engine: Engine, ctx: Context) -> Reply | None:
    """The knowledge base's answer to the message, when it is sure of one."""
    finding = _sure_finding(engine, ctx)
    return _reply(engine, ctx.municipality, finding) if finding and ctx.municipality else None


def _answer(
    engine: Engine, municipality: Municipality, finding: Finding, article: Article, note: str | None = None
) -> Reply:
    see_also = tuple(hit.article for hit in engine.see_also(finding.result) if hit.article.id != article.id)
    other = finding.other.article if finding.other else None
    follow_up = f"Jeg går ud fra, at du spørger videre om {article.topic.label.lower()}."
    extras = Extras(
        see_also=tuple(a for a in see_also if a != other),
        other=other,
        note=note or (follow_up if finding.within_subject else None),
    )
    return Reply(
        answer_messages(article, engine.kb, municipality, extras=extras),
        {
            slots.LAST_ARTICLE: article.id,
            slots.LAST_QUESTION: finding.query,
            slots.FALLBACK_STREAK: 0,
            slots.HANDOFF_OFFERED: False,
            slots.PENDING_QUESTION: None,
        },
    )


def fallback(engine: Engine, ctx: Context) -> Reply:
    """The NLU model was unsure: try the knowledge base (only a certain
    answer when the model leaned out of scope), else ask to rephrase."""
    answered = _outside_answer(engine, ctx) if ctx.leans_out_of_scope else _sure_answer(engine, ctx)
    understood = _unwell(ctx.text) or _english(ctx) or answered or _other_municipality(ctx)
    if understood:
        return understood
    rephrase = BotMessage(
        text="Undskyld, det forstod jeg ikke helt. Vil du skrive det på en anden måde?",
        custom={"kind": Kind.FALLBACK.value, "reason": "not_understood"},
    )
    return _missed(ctx, rephrase)


def _english(ctx: Context) -> Reply | None:
    return english() if is_english(ctx.text) else None


def _other_municipality(ctx: Context) -> Reply | None:
    """Tell a user who names another municipality which four are covered."""
    other = find_other_municipality(ctx.text)
    if not other:
        return None
    return Reply([municipality_question(other)], {slots.FALLBACK_STREAK: 0, slots.HANDOFF_OFFERED: False})


def _certain_answer(engine: Engine, ctx: Context) -> Reply | None:
    """The answer when the knowledge base is certain enough to overrule the NLU model."""
    finding = _sure_finding(engine, ctx)
    if finding and ctx.municipality and engine.is_certain(finding.result):
        return _reply(engine, ctx.municipality, finding)
    return None


def out_of_scope(engine: Engine, ctx: Context) -> Reply:
    """Not an employment question, says the NLU model. A user who names another
    municipality ("jeg bor i København") is told which four the assistant
    covers; a question the knowledge base is certain of is answered."""
    first = _first_things(ctx)
    if first:
        return first
    return _other_municipality(ctx) or _outside_answer(engine, ctx) or Reply([out_of_scope_message()])


def _outside_answer(engine: Engine, ctx: Context) -> Reply | None:
    """What may still be answered of a message the NLU model finds out of scope."""
    return _certain_answer(engine, ctx) or _supported_follow_up(engine, ctx)


def _supported_follow_up(engine: Engine, ctx: Context) -> Reply | None:
    """A short follow-up the NLU model called out of scope ("koster det
    noget?"), answered within the subject when its own words support the
    answer, or when it has none ("og i Ballerup?"): see bot.dialogue.finding."""
    if not (ctx.last_question and ctx.municipality and is_follow_up(ctx.text)):
        return None
    finding = _sure_finding(engine, ctx)
    return _reply(engine, ctx.municipality, finding) if finding and finding.within_subject else None


#: Said with the general rule when a question about one's own case or a
#: complaint is answered directly.
GENERAL_RULE_NOTE = "Jeg kan ikke se din sag, så her er de generelle regler. En medarbejder kan se på din egen sag."
COMPLAINT_NOTE = "Er du utilfreds, kan du også tale med en medarbejder."

#: What a general rule beside a caseworker offer says of its article.
GENERAL_RULE_KEYS = ("topic", "article_id", "sources")


def _general_rule(engine: Engine, ctx: Context, *queries: str) -> BotMessage | None:
    """The general rule from the knowledge base: a cited answer without a kind."""
    for query in queries:
        finding = _sure_finding(engine, ctx, query)
        if finding and finding.result.best and ctx.municipality:
            answer = answer_messages(finding.result.best.article, engine.kb, ctx.municipality)[0]
            custom = {key: answer.custom[key] for key in GENERAL_RULE_KEYS}
            return BotMessage(text="Det gælder generelt:\n" + (answer.text or ""), custom=custom)
    return None


def _rule_asked(engine: Engine, ctx: Context, note: str) -> Reply | None:
    """A how or what question about the rules, or a search phrase, read by the
    NLU model as the user's own case or a complaint ("hvordan klager jeg over
    en afgørelse?", "klage over afgørelse"), is answered when the knowledge
    base is sure of it, with `note` to say it is the general rule; a
    "hvorfor" about one's own case is not."""
    asks = is_question(ctx.text) or is_search_phrase(ctx.text)
    if not asks or ctx.text.strip().lower().startswith("hvorfor") or ctx.municipality is None:
        return None
    finding = _sure_finding(engine, ctx)
    return _reply(engine, ctx.municipality, finding, note=note) if finding else None


def personal_case(engine: Engine, ctx: Context) -> Reply:
    """Never guess about someone's own case: give the general rule and a person."""
    first = _first_things(ctx) or _rule_asked(engine, ctx, GENERAL_RULE_NOTE)
    if first:
        return first
    offer = _offer(
        HandoffReason.PERSONAL_CASE,
        "Jeg kan ikke se din sag, og jeg kan ikke vurdere den. Det kan en medarbejder.\n"
        "Vil du tale med en medarbejder om din sag?",
    )
    general = _general_rule(engine, ctx, ctx.text)
    return Reply([offer, *([general] if general else [])], _offer_slots(HandoffReason.PERSONAL_CASE))


def complaint(engine: Engine, ctx: Context) -> Reply:
    """Explain how complaints work, and offer a caseworker."""
    first = _first_things(ctx) or _rule_asked(engine, ctx, COMPLAINT_NOTE)
    if first:
        return first
    offer = _offer(
        HandoffReason.COMPLAINT,
        "Jeg er ked af, at du er utilfreds. Du har ret til at klage.\nVil du tale med en medarbejder om det?",
    )
    general = _general_rule(engine, ctx, COMPLAINT_QUERY)
    return Reply([offer, *([general] if general else [])], _offer_slots(HandoffReason.COMPLAINT))


#: A message this long, or with a question mark, may be a question as well
#: as an introduction ("Vi er en virksomhed i Gladsaxe. Kan vi få løntilskud?").
QUESTION_MIN_WORDS = 6


def _own_question(ctx: Context) -> bool:
    """The message itself may be a question, not only a municipality or audience."""
    return "?" in ctx.text or len(ctx.text.split()) >= QUESTION_MIN_WORDS


def _answered_again(engine: Engine, ctx: Context) -> Reply | None:
    """After a new municipality or audience: the message's own question, or
    else the conversation's last question asked again for the new one."""
    if ctx.municipality is None:
        return None
    if _own_question(ctx) and not (ctx.last_question and refers_back(ctx.text)):
        answered = _sure_answer(engine, ctx)
        if answered:
            return answered
    if not ctx.last_question:
        return None
    again = replace(ctx, text=ctx.last_question, last_question=None)
    return _sure_answer(engine, again)


def set_municipality(engine: Engine, ctx: Context, pending_question: str | None) -> Reply:
    """Remember the municipality; answer the question that was waiting for it,
    this one, or the last one again for the new municipality."""
    if ctx.municipality is None:
        return Reply([municipality_question(find_other_municipality(ctx.text))])
    ack = f"Tak. Jeg svarer nu ud fra reglerne i {ctx.municipality.label} Kommune."
    chosen: dict[str, Any] = {slots.MUNICIPALITY: ctx.municipality.value, slots.PENDING_QUESTION: None}
    if pending_question:
        answered: Reply | None = question(engine, Context(pending_question, ctx.municipality, ctx.audience))
    else:
        answered = _answered_again(engine, ctx)
    if answered:
        return Reply([BotMessage(text=ack), *answered.messages], {**chosen, **answered.slots})
    return Reply([BotMessage(text=ack, custom={"kind": Kind.SMALLTALK.value})], chosen)


def set_audience(engine: Engine, ctx: Context, audience: Audience | None) -> Reply:
    """Remember who is asking; answer this question, or the last one again for them."""
    if audience is None:
        # "jeg bor i Aarhus" or a question may be read as telling who is asking.
        return (
            _other_municipality(ctx)
            or (_sure_answer(engine, ctx) if is_question(ctx.text) else None)
            or Reply([BotMessage(text="Hvad vil du gerne vide?", custom={"kind": Kind.SMALLTALK.value})])
        )
    chosen = {slots.AUDIENCE: audience.value}
    answered = _answered_again(engine, replace(ctx, audience=audience))
    if answered:
        return Reply(answered.messages, {**chosen, **answered.slots})
    who = "virksomhed" if audience is Audience.VIRKSOMHED else "borger"
    text = f"Tak. Så svarer jeg dig som {who}. Hvad vil du gerne vide?"
    return Reply([BotMessage(text=text, custom={"kind": Kind.SMALLTALK.value})], chosen)


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
    return Reply(answer_messages(article, engine.kb, ctx.municipality)[:1], {slots.LAST_ARTICLE: article.id})


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
    return Reply([message], {slots.ANSWER_HELPFUL: helpful})


def decline_handoff(text: str) -> Reply:
    """No to the offer of a caseworker, unless the "no" says they feel unwell."""
    return _unwell(text) or Reply([_anything_else()], {slots.HANDOFF_OFFERED: False, slots.HANDOFF_REASON: None})


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
