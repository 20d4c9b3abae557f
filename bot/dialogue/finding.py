"""What the knowledge base says to a message, read in its conversation.

- A subject the knowledge base has no article on (ledighedsydelse, tolk)
  is named, so the assistant can say so instead of answering a near miss.
- A long message is searched as a whole, its questions counted twice; a
  second question in it on another article of the same topic is offered
  as a button.
- A short follow-up is searched within the conversation's subject (the
  last answered question and its topic), unless it clearly starts a new
  subject: it finds a sure answer on another topic by itself and does not
  point back ("det", "og hvis ..."). When the NLU model is unsure of the
  message, its own words must also match the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.dialogue.reading import is_follow_up, questions_in, refers_back
from bot.knowledge.engine import Decision, Engine, Hit, SearchResult, Subject
from bot.knowledge.gaps import Gap
from bot.taxonomy import Audience, Municipality

#: The subject remembered for the next turn keeps at most this many words.
SUBJECT_MAX_WORDS = 30


@dataclass(frozen=True)
class Finding:
    result: SearchResult
    #: The question as understood, standalone: the next turn's subject.
    query: str
    #: Answered as a follow-up, within the conversation's subject.
    within_subject: bool = False
    #: A subject the knowledge base has no article on.
    gap: Gap | None = None
    #: The answer to a second question in the same message.
    other: Hit | None = None


@dataclass(frozen=True)
class Asked:
    """A message and where it was asked."""

    text: str
    municipality: Municipality
    audience: Audience | None = None
    nlu_sure: bool = False
    subject: Subject | None = None


def find(engine: Engine, asked: Asked) -> Finding:
    """Search the knowledge base for a message, in its conversation."""
    gap = engine.missing_subject(asked.text, asked.municipality)
    if gap:
        return Finding(_search(engine, asked, asked.text), _limited(asked.text), gap=gap)
    questions = questions_in(asked.text)
    if questions:
        return _long_message(engine, asked, questions)
    if asked.subject and is_follow_up(asked.text):
        return _follow_up(engine, asked, asked.subject)
    return Finding(_search(engine, asked, asked.text), asked.text)


def _search(engine: Engine, asked: Asked, text: str, subject: Subject | None = None) -> SearchResult:
    return engine.search(text, asked.municipality, asked.audience, nlu_sure=asked.nlu_sure, subject=subject)


def _follow_up(engine: Engine, asked: Asked, subject: Subject) -> Finding:
    own = _search(engine, asked, asked.text)
    if not (asked.nlu_sure or refers_back(asked.text)) and engine.names_something_new(asked.text, asked.municipality):
        # A word no article knows, nothing pointing back, and the NLU model
        # unsure: a new subject ("hvordan passer jeg min hund?" after an
        # answer on fleksjob).
        return Finding(own, asked.text)
    # After a subject no article covers (a gap), any answer is a new subject.
    gap_before = subject.topic is None and own.decision is Decision.ANSWER
    if gap_before or (_new_subject(engine, own, subject) and not refers_back(asked.text)):
        return Finding(own, asked.text)
    within = _search(engine, asked, asked.text, subject)
    best = within.best
    if not asked.nlu_sure and best and not engine.supports(asked.text, best.article, asked.municipality):
        # Unless the NLU model is sure it is an employment question, a message
        # whose own words have nothing to do with the answer is no follow-up
        # ("tak. hvornår lukker genbrugspladsen?").
        return Finding(own, asked.text)
    query = _limited(f"{asked.text} {subject.text}")
    return Finding(within, query, within_subject=True, gap=engine.missing_subject(query, asked.municipality))


def _new_subject(engine: Engine, own: SearchResult, subject: Subject) -> bool:
    """The message finds a sure answer on another topic by itself."""
    return _sure(engine, own) and own.best is not None and own.best.article.topic != subject.topic


def _long_message(engine: Engine, asked: Asked, questions: list[str]) -> Finding:
    """A long message is searched as a whole, its questions counted twice (on
    the development set that finds the main question's article more often
    than the question sentences alone: the situation names the subject).
    Another question in it, read with the message as its context, is offered
    as well when its own words find another article on the same topic ("Og
    hvor længe kan det vare?")."""
    main = _search(engine, asked, " ".join([asked.text, *questions]))
    if main.decision is not Decision.ANSWER or not main.best:
        return Finding(main, _limited(asked.text))
    chosen = main.best.article
    context = Subject(asked.text, chosen.topic)
    other = None
    for question in questions:
        best = _search(engine, asked, question, context).best
        if (
            best
            and best.article.id != chosen.id
            and best.article.topic == chosen.topic
            and engine.supports(question, best.article, asked.municipality)
        ):
            other = best
            break
    return Finding(main, _limited(asked.text), other=other)


def _sure(engine: Engine, result: SearchResult) -> bool:
    best = result.best
    return result.decision is Decision.ANSWER and best is not None and best.score >= engine.tuning.sure_above


def _limited(text: str) -> str:
    return " ".join(text.split()[:SUBJECT_MAX_WORDS])
