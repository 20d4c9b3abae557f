"""The durable queue of the events Rasa's tracker must get (a transactional outbox).

Claiming a case pauses the bot's conversation and closing it resumes it;
during a live chat both sides' lines also go into the tracker. These are
written to `rasa_event_queue` in the same transaction as the change they
belong to, so a caseworker's action never half-happens when Rasa is down.
The front door delivers them (bot/api/rasa_sync.py): per conversation
strictly in id order, only the oldest item at a time, each under a short
lease so two front-door workers never deliver the same item, and retried
with back-off until Rasa has it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BindParameter, Exists, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from bot.storage.db import rows_changed
from bot.storage.models import RasaEvent, utcnow

LEASE = timedelta(seconds=30)
#: Delay before the next attempt after n failures; the last one repeats.
RETRY_SECONDS = (1, 2, 5, 10, 30)


def enqueue(session: Session, sender: str, event: dict[str, Any]) -> None:
    """A tracker event for Rasa, in Rasa's event JSON."""
    session.add(RasaEvent(sender=sender, event=event))


def citizen_line(text: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """The citizen's line to a caseworker, as a user event the paused tracker
    keeps. It is not a message to the bot: no NLU reads it, so words such as
    "start forfra" cannot restart the conversation behind the caseworker's back."""
    return {"event": "user", "text": text, "parse_data": {"intent": {}, "entities": []}, "metadata": metadata}


def _head(session: Session, sender: str) -> RasaEvent | None:
    query = select(RasaEvent).where(RasaEvent.sender == sender).order_by(RasaEvent.id).limit(1)
    return session.scalars(query).first()


def has_pending(session: Session, sender: str) -> bool:
    return bool(session.scalar(select(pending(sender))))


def pending(sender: str | BindParameter[str]) -> Exists:
    """Whether events for the conversation still wait, as a column."""
    return exists().where(RasaEvent.sender == sender)


def due_senders(session: Session, now: datetime | None = None) -> Sequence[str]:
    """Conversations with an item whose next attempt is due."""
    query = select(RasaEvent.sender).where(RasaEvent.next_attempt_at <= (now or utcnow())).distinct()
    return session.scalars(query).all()


def backlog(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(RasaEvent)) or 0)


def lease_head(session: Session, sender: str, *, due_only: bool = True) -> RasaEvent | None:
    """The conversation's oldest item, leased to the caller; None when there
    is none, it is not yet due, or another worker holds it."""
    now = utcnow()
    head = _head(session, sender)
    if head is None or (due_only and head.next_attempt_at > now):
        return None
    taken = session.execute(
        update(RasaEvent)
        .where(RasaEvent.id == head.id, or_(RasaEvent.leased_until.is_(None), RasaEvent.leased_until < now))
        .values(leased_until=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    return head if rows_changed(taken) == 1 else None


def delivered(session: Session, item_id: int) -> None:
    session.execute(delete(RasaEvent).where(RasaEvent.id == item_id))


def failed(session: Session, item_id: int) -> None:
    """Release the lease and set the next attempt after a growing delay."""
    item = session.get(RasaEvent, item_id)
    if item is None:
        return
    item.attempts += 1
    item.next_attempt_at = utcnow() + timedelta(seconds=RETRY_SECONDS[min(item.attempts, len(RETRY_SECONDS)) - 1])
    item.leased_until = None


def erase(session: Session, senders: Sequence[str]) -> None:
    """Forget queued items of these conversations (the right to erasure)."""
    session.execute(delete(RasaEvent).where(RasaEvent.sender.in_(senders)))


def drop_older_than(session: Session, cutoff: datetime) -> None:
    """Retention: items Rasa has not taken by the cut-off are dropped."""
    session.execute(delete(RasaEvent).where(RasaEvent.created_at < cutoff))
