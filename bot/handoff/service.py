"""Handoff cases in the database: create, route, claim, reply, close, purge.

Every change a citizen's chat shows (a message for them, their case's
state, their place in the queue) is announced in its transaction
(bot.storage.changes), so their open stream reads it without polling.

Every read a caseworker makes goes through `case_for`, which only returns a
case of the caseworker's own municipality and team; everything else is
"not found", so no id reveals another municipality's case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, ScalarSelect, Select, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session, aliased, selectinload

from bot.handoff import rasa_queue
from bot.storage import changes
from bot.storage.db import rows_changed
from bot.storage.models import AuditEntry, CaseMessage, CaseStatus, Caseworker, HandoffCase, OutboxMessage, utcnow
from bot.taxonomy import Author, Channel, HandoffReason, Municipality, Outcome, Team

OPEN_STATUSES = (CaseStatus.WAITING, CaseStatus.CLAIMED)


class CaseNotFoundError(Exception):
    """No such case for this caseworker (or it belongs to someone else)."""


class AlreadyClaimedError(Exception):
    """Another caseworker claimed the case first."""


@dataclass(frozen=True)
class Notice:
    """What a change to a case tells: a line in the case thread, and for a
    live chat a message to the citizen (in the chat API's message shape).
    The wording is bot.dialogue.handoff's."""

    thread: str
    citizen: dict[str, Any] | None = None


@dataclass(frozen=True)
class NewCase:
    sender: str
    municipality: Municipality
    team: Team
    channel: Channel
    reason: HandoffReason
    topic: str | None
    article_ids: list[str]
    transcript: list[tuple[Author, str]]
    description: str
    contact_name: str | None = None
    contact_phone: str | None = None
    contact_email: str | None = None


def audit(
    session: Session, caseworker: Caseworker | None, action: str, case_id: int | None = None, detail: str | None = None
) -> None:
    session.add(
        AuditEntry(caseworker_id=caseworker.id if caseworker else None, action=action, case_id=case_id, detail=detail)
    )


def post_to_citizen(session: Session, sender: str, payload: dict[str, Any]) -> OutboxMessage:
    """Queue a message for the citizen's client (SSE or polling)."""
    message = OutboxMessage(sender=sender, payload={"recipient_id": sender, **payload})
    session.add(message)
    session.flush()
    changes.announce(session, sender)
    return message


def create_case(session: Session, new: NewCase) -> HandoffCase:
    """Open a case with the bot transcript so far; cancels nothing else."""
    case = HandoffCase(
        sender=new.sender,
        municipality=new.municipality,
        team=new.team,
        channel=new.channel,
        status=CaseStatus.WAITING,
        priority=new.reason.priority,
        reason=new.reason.value,
        topic=new.topic,
        article_ids=new.article_ids,
        contact_name=new.contact_name,
        contact_phone=new.contact_phone,
        contact_email=new.contact_email,
        description=new.description,
    )
    case.messages = [CaseMessage(author=author, text=text) for author, text in new.transcript]
    session.add(case)
    session.flush()
    _announce_change(session, case)
    return case


def open_or_update_case(session: Session, new: NewCase) -> tuple[HandoffCase, int]:
    """Open a case, or for a live chat update the citizen's open one: it
    takes the more urgent reason and the new description. Returns the case
    and its place in the queue."""
    case = live_case(session, new.sender) if new.channel is Channel.CHAT else None
    if case is None:
        case = create_case(session, new)
    else:
        escalate(session, case, new.reason)
        case.description = new.description or case.description
        case.messages.extend(CaseMessage(author=author, text=text) for author, text in new.transcript[-1:])
        session.flush()
    return case, queue_position(session, case)


def escalate(session: Session, case: HandoffCase, reason: HandoffReason) -> None:
    """Raise a waiting case to a more urgent reason (crisis wording in the queue)."""
    if reason.priority < case.priority:
        case.priority, case.reason = reason.priority, reason.value
        session.flush()
        _announce_change(session, case)


def _live_case_id(sender: str | BindParameter[str]) -> Select[tuple[int]]:
    """The id of the sender's newest open live-chat case (waiting or claimed)."""
    return (
        select(HandoffCase.id)
        .where(HandoffCase.sender == sender, HandoffCase.channel == Channel.CHAT)
        # Not in_(): its list is rendered again at every execution (every turn reads this).
        .where(or_(*(HandoffCase.status == status for status in OPEN_STATUSES)))
        .order_by(HandoffCase.id.desc())
        .limit(1)
    )


def live_case(session: Session, sender: str) -> HandoffCase | None:
    """The sender's open live-chat case, if any (waiting or claimed)."""
    return session.scalars(select(HandoffCase).where(HandoffCase.id == _live_case_id(sender).scalar_subquery())).first()


def _ahead_of(case: Any) -> ColumnElement[bool]:
    """The waiting live chats taken before `case` (a case, or an alias of the table)."""
    return and_(
        HandoffCase.municipality == case.municipality,
        HandoffCase.team == case.team,
        HandoffCase.status == CaseStatus.WAITING,
        HandoffCase.channel == Channel.CHAT,
        (HandoffCase.priority < case.priority) | ((HandoffCase.priority == case.priority) & (HandoffCase.id < case.id)),
    )


def queue_position(session: Session, case: HandoffCase) -> int:
    """1 for the next case to be taken in its municipality and team."""
    ahead = session.scalar(select(func.count()).select_from(HandoffCase).where(_ahead_of(case)))
    return int(ahead or 0) + 1


def live_chat(sender: BindParameter[str]) -> tuple[ScalarSelect[CaseStatus], ScalarSelect[int]]:
    """The status of the sender's live chat (NULL without one) and its place
    in the queue (meaningful while it waits), as two columns for a statement
    that reads more at once (the front door's turn)."""
    live = aliased(HandoffCase)
    latest = _live_case_id(sender).scalar_subquery()
    status = select(live.status).where(live.id == latest).scalar_subquery()
    place = (
        select(func.count(HandoffCase.id) + 1)
        .select_from(live)
        .join(HandoffCase, _ahead_of(live))
        .where(live.id == latest)
        .scalar_subquery()
    )
    return status, place


def _announce_change(session: Session, case: HandoffCase) -> None:
    """The case entered, moved in or left the queue, or changed state: its
    citizen's chat shows it, and so do the chats of the waiting citizens
    behind it (their place in the queue)."""
    changes.announce(session, case.sender)
    if case.channel is not Channel.CHAT:
        return
    behind = select(HandoffCase.sender).where(
        HandoffCase.municipality == case.municipality,
        HandoffCase.team == case.team,
        HandoffCase.status == CaseStatus.WAITING,
        HandoffCase.channel == Channel.CHAT,
        (HandoffCase.priority > case.priority) | ((HandoffCase.priority == case.priority) & (HandoffCase.id > case.id)),
    )
    for sender in set(session.scalars(behind)):
        changes.announce(session, sender)


def record(case: HandoffCase, author: Author, text: str, caseworker: Caseworker | None = None) -> None:
    """Add an entry to the case thread."""
    case.messages.append(CaseMessage(author=author, text=text, caseworker=caseworker))


def _scope(caseworker: Caseworker) -> tuple[Any, ...]:
    return (HandoffCase.municipality == caseworker.municipality, HandoffCase.team == caseworker.team)


def inbox(session: Session, caseworker: Caseworker) -> Sequence[HandoffCase]:
    """Waiting and claimed cases of the caseworker's municipality and team, most urgent first."""
    query = (
        select(HandoffCase)
        .where(*_scope(caseworker), HandoffCase.status.in_(OPEN_STATUSES))
        .order_by(HandoffCase.priority, HandoffCase.created_at, HandoffCase.id)
        .options(selectinload(HandoffCase.claimed_by))
    )
    return session.scalars(query).all()


def callbacks(session: Session, caseworker: Caseworker) -> Sequence[HandoffCase]:
    """Callback requests not yet closed, most urgent first."""
    query = (
        select(HandoffCase)
        .where(*_scope(caseworker), HandoffCase.channel == Channel.CALLBACK)
        .where(HandoffCase.status.in_(OPEN_STATUSES))
        .order_by(HandoffCase.priority, HandoffCase.created_at, HandoffCase.id)
    )
    return session.scalars(query).all()


def case_for(session: Session, caseworker: Caseworker, case_id: int) -> HandoffCase:
    """A case the caseworker may see, with its thread; else CaseNotFoundError."""
    query = (
        select(HandoffCase)
        .where(HandoffCase.id == case_id, *_scope(caseworker))
        .options(selectinload(HandoffCase.messages).selectinload(CaseMessage.caseworker))
    )
    case = session.scalars(query).first()
    if case is None:
        raise CaseNotFoundError(case_id)
    return case


def _tell(session: Session, case: HandoffCase, notice: Notice) -> None:
    record(case, Author.SYSTEM, notice.thread)
    if case.channel is Channel.CHAT and notice.citizen:
        post_to_citizen(session, case.sender, notice.citizen)


def claim(session: Session, caseworker: Caseworker, case_id: int, notice: Notice) -> HandoffCase:
    """Take a waiting case. Exactly one of several simultaneous claims wins.
    A live chat's conversation is paused in Rasa."""
    case_for(session, caseworker, case_id)
    result = session.execute(
        update(HandoffCase)
        .where(HandoffCase.id == case_id, HandoffCase.status == CaseStatus.WAITING, *_scope(caseworker))
        .values(status=CaseStatus.CLAIMED, claimed_by_id=caseworker.id, claimed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if rows_changed(result) != 1:
        raise AlreadyClaimedError(case_id)
    session.expire_all()
    case = case_for(session, caseworker, case_id)
    audit(session, caseworker, "claim", case.id)
    _announce_change(session, case)
    if case.channel is Channel.CHAT:
        rasa_queue.enqueue(session, case.sender, {"event": "pause"})
    _tell(session, case, notice)
    return case


def _own_claimed(session: Session, caseworker: Caseworker, case_id: int) -> HandoffCase:
    case = case_for(session, caseworker, case_id)
    if case.status is not CaseStatus.CLAIMED or case.claimed_by_id != caseworker.id:
        raise AlreadyClaimedError(case_id)
    return case


def reply(session: Session, caseworker: Caseworker, case_id: int, message: dict[str, Any]) -> HandoffCase:
    """Send a message (the chat API's shape, with its text) to the citizen in
    a claimed live chat. Rasa's tracker keeps it too."""
    case = _own_claimed(session, caseworker, case_id)
    record(case, Author.CASEWORKER, message["text"], caseworker)
    post_to_citizen(session, case.sender, message)
    event = {"event": "bot", "text": message["text"], "metadata": message.get("custom") or {}}
    rasa_queue.enqueue(session, case.sender, event)
    audit(session, caseworker, "reply", case.id)
    return case


def add_note(session: Session, caseworker: Caseworker, case_id: int, text: str) -> HandoffCase:
    """A private note: only caseworkers of the team see it."""
    case = case_for(session, caseworker, case_id)
    record(case, Author.NOTE, text, caseworker)
    audit(session, caseworker, "note", case.id)
    return case


def close(
    session: Session,
    caseworker: Caseworker,
    case_id: int,
    outcome: str,
    notice: Notice,
    outcome_code: Outcome | None = None,
) -> HandoffCase:
    """Close a claimed case with its outcome (what was agreed, and how it
    ended for the statistics); the bot takes over the chat again."""
    case = _own_claimed(session, caseworker, case_id)
    case.status = CaseStatus.CLOSED
    case.closed_at = utcnow()
    case.outcome = outcome
    case.outcome_code = outcome_code
    audit(session, caseworker, "close", case.id)
    changes.announce(session, case.sender)
    if case.channel is Channel.CHAT:
        rasa_queue.enqueue(session, case.sender, {"event": "resume"})
    _tell(session, case, notice)
    return case


def outbox_after(session: Session, sender: str, after: int) -> Sequence[OutboxMessage]:
    query = select(OutboxMessage).where(OutboxMessage.sender == sender, OutboxMessage.id > after)
    return session.scalars(query.order_by(OutboxMessage.id)).all()


def purge(session: Session, older_than: timedelta, now: datetime | None = None) -> list[str]:
    """Remove personal data and transcripts of cases closed before the cut-off.

    The case row stays (municipality, team, reason, topic, times) for
    statistics; contact details, description, outcome and the thread go.
    Returns the senders whose conversations should also leave Rasa's
    tracker store (the caller skips any that has an open case).
    """
    cutoff = (now or utcnow()) - older_than
    cases = session.scalars(
        select(HandoffCase).where(
            HandoffCase.status == CaseStatus.CLOSED, HandoffCase.closed_at < cutoff, HandoffCase.purged_at.is_(None)
        )
    ).all()
    senders = sorted({case.sender for case in cases})
    for case in cases:
        session.execute(delete(CaseMessage).where(CaseMessage.case_id == case.id))
        case.contact_name = case.contact_phone = case.contact_email = None
        case.description = case.outcome = None
        case.purged_at = utcnow()
    if senders:
        session.execute(delete(OutboxMessage).where(OutboxMessage.sender.in_(senders)))
    rasa_queue.drop_older_than(session, cutoff)
    return senders


def erase(session: Session, sender: str) -> int:
    """The right to erasure: delete every case and message of a sender."""
    cases = session.scalars(select(HandoffCase).where(HandoffCase.sender == sender)).all()
    for case in cases:
        _announce_change(session, case)
        session.delete(case)
    session.execute(delete(OutboxMessage).where(OutboxMessage.sender == sender))
    rasa_queue.erase(session, [sender])
    return len(cases)


def senders_with_open_cases(session: Session) -> set[str]:
    query = select(HandoffCase.sender).where(HandoffCase.status.in_(OPEN_STATUSES))
    return set(session.scalars(query))
