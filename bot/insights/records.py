"""Turn records and feedback in our database.

The front door hands every bot turn to the recorder as `TurnFacts`; this
module writes them. No message text is kept, except the question of a turn
the assistant could not answer and of an answer that got "nej", and the
comment after a "nej": each masked for CPR numbers, phone numbers and e-mail
addresses (bot.privacy.mask_personal) before it is stored. Everything here
is keyed by the hashed conversation id; purge and erase remove it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.dialogue.messages import Kind
from bot.privacy import mask_personal
from bot.storage.db import rows_changed
from bot.storage.models import Feedback, TurnRecord, utcnow
from bot.taxonomy import Audience, Municipality

#: Turns that did not end in an answer; their question is kept for curators.
_NOT_ANSWERED = frozenset({Kind.FALLBACK.value, Kind.CLARIFY.value, Kind.OUT_OF_SCOPE.value})
#: Asking which municipality the user belongs to is no gap in the knowledge base.
_ASKED_BACK = frozenset({"municipality"})
#: The reason of a caseworker offer made because the assistant could not help.
OFFER_AFTER_MISSES = "fallback"
#: A comment may follow a "nej" this long after it.
COMMENT_WINDOW = timedelta(hours=1)
MAX_COMMENT_LENGTH = 500


@dataclass(frozen=True)
class FeedbackFacts:
    """What a feedback turn said of the answer before it."""

    helpful: bool
    article_id: str | None
    #: The question the answer answered (for a "nej"), not yet masked.
    question: str | None = None


@dataclass(frozen=True)
class TurnFacts:
    """One bot turn as the front door knows it; `text` is the user's message
    (CPR already masked), kept only when `keeps_question` says so."""

    at: datetime
    sender_hash: str
    municipality: Municipality | None
    audience: Audience | None
    intent: str | None
    confidence: float | None
    kind: str
    reason: str | None
    topic: str | None
    article_id: str | None
    latency_ms: float
    text: str
    feedback: FeedbackFacts | None = None


def is_unanswered(kind: str | None, reason: str | None) -> bool:
    """A turn that did not end in an answer: not understood, no sure answer,
    a question asked back, out of scope, or a caseworker offered after misses."""
    if kind == Kind.HANDOFF.value:
        return reason == OFFER_AFTER_MISSES
    return kind in _NOT_ANSWERED and reason not in _ASKED_BACK


def is_dont_know(kind: str | None, reason: str | None) -> bool:
    """The assistant did not know: not understood or no sure answer (the headline rate)."""
    return kind == Kind.FALLBACK.value or (kind == Kind.HANDOFF.value and reason == OFFER_AFTER_MISSES)


def is_question(kind: str | None, reason: str | None) -> bool:
    """A turn in which the user asked something: the headline rate's denominator."""
    return kind == Kind.ANSWER.value or is_unanswered(kind, reason)


def kept_question(text: str) -> str | None:
    """The question as it is stored: masked, and never a button's payload."""
    return None if not text or text.startswith("/") else mask_personal(text)


def store(session: Session, facts: TurnFacts) -> TurnRecord:
    """Write one turn, and the feedback it carries."""
    record = TurnRecord(
        at=facts.at,
        sender_hash=facts.sender_hash,
        municipality=facts.municipality or last_municipality(session, facts.sender_hash),
        audience=facts.audience,
        intent=facts.intent,
        confidence=facts.confidence,
        kind=facts.kind,
        reason=facts.reason,
        topic=facts.topic,
        article_id=facts.article_id,
        latency_ms=facts.latency_ms,
        question=kept_question(facts.text) if is_unanswered(facts.kind, facts.reason) else None,
    )
    session.add(record)
    if facts.feedback:
        _store_feedback(session, record, facts.feedback)
    return record


def last_municipality(session: Session, sender_hash: str) -> Municipality | None:
    """The municipality the conversation's latest recorded turn was about."""
    query = (
        select(TurnRecord.municipality)
        .where(TurnRecord.sender_hash == sender_hash, TurnRecord.municipality.is_not(None))
        .order_by(TurnRecord.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def _answered_turn(session: Session, sender_hash: str, article_id: str | None) -> TurnRecord | None:
    """The conversation's latest answer (of that article, when known)."""
    query = select(TurnRecord).where(TurnRecord.sender_hash == sender_hash, TurnRecord.kind == Kind.ANSWER.value)
    if article_id:
        query = query.where(TurnRecord.article_id == article_id)
    return session.scalars(query.order_by(TurnRecord.id.desc()).limit(1)).first()


def _store_feedback(session: Session, record: TurnRecord, feedback: FeedbackFacts) -> None:
    """Feedback against the answer's turn and article; a "nej" keeps the question."""
    answered = _answered_turn(session, record.sender_hash, feedback.article_id)
    if answered is not None and not feedback.helpful and feedback.question:
        answered.question = kept_question(feedback.question)
    session.add(
        Feedback(
            at=record.at,
            turn_id=answered.id if answered else None,
            sender_hash=record.sender_hash,
            municipality=answered.municipality if answered else record.municipality,
            article_id=feedback.article_id or (answered.article_id if answered else None),
            helpful=feedback.helpful,
        )
    )


def attach_comment(session: Session, sender_hash: str, comment: str, now: datetime | None = None) -> bool:
    """Add a masked comment to the conversation's latest "nej" that has none,
    if it came within COMMENT_WINDOW. Returns whether there was one."""
    query = (
        select(Feedback)
        .where(Feedback.sender_hash == sender_hash, Feedback.helpful.is_(False), Feedback.comment.is_(None))
        .where(Feedback.at >= (now or utcnow()) - COMMENT_WINDOW)
        .order_by(Feedback.id.desc())
        .limit(1)
    )
    feedback = session.scalars(query).first()
    if feedback is None:
        return False
    feedback.comment = mask_personal(comment.strip()[:MAX_COMMENT_LENGTH])
    return True


def purge(session: Session, cutoff: datetime) -> int:
    """Delete turn records and feedback from before the cut-off; return the turns deleted."""
    session.execute(delete(Feedback).where(Feedback.at < cutoff).execution_options(synchronize_session=False))
    old_turns = delete(TurnRecord).where(TurnRecord.at < cutoff).execution_options(synchronize_session=False)
    return rows_changed(session.execute(old_turns))


def erase(session: Session, sender_hash: str) -> int:
    """Delete a conversation's turn records and feedback; return the turns deleted."""
    session.execute(delete(Feedback).where(Feedback.sender_hash == sender_hash))
    return rows_changed(session.execute(delete(TurnRecord).where(TurnRecord.sender_hash == sender_hash)))
