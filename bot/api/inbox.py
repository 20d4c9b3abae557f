"""Messages for the citizen's client that are not replies to a request:
caseworker messages and handoff status changes. Read by polling or SSE."""

from __future__ import annotations

from sqlalchemy import case as sql_case
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.api.schemas import HandoffState, Inbox, OutboxItem
from bot.dialogue.handoff import caseworker_badge
from bot.handoff import service
from bot.storage.db import session_scope
from bot.storage.models import CaseStatus, HandoffCase
from bot.taxonomy import Channel


def _open_case(session: Session, sender: str) -> HandoffCase | None:
    """The citizen's open case to show: a live chat before a callback request."""
    live_chat_first = sql_case((HandoffCase.channel == Channel.CHAT, 0), else_=1)
    query = (
        select(HandoffCase)
        .where(HandoffCase.sender == sender, HandoffCase.status.in_(service.OPEN_STATUSES))
        .order_by(live_chat_first, HandoffCase.id.desc())
    )
    return session.scalars(query).first()


def handoff_state(session: Session, sender: str) -> HandoffState | None:
    case = _open_case(session, sender)
    if case is None:
        return None
    waiting = case.status is CaseStatus.WAITING
    return HandoffState(
        status=case.status.value,
        channel=case.channel.value,
        position=service.queue_position(session, case) if waiting else None,
        caseworker=caseworker_badge(case.claimed_by.first_name) if case.claimed_by else None,
    )


def read_inbox(sender: str, after: int) -> Inbox:
    with session_scope() as session:
        items = [OutboxItem(id=m.id, **m.payload) for m in service.outbox_after(session, sender, after)]
        return Inbox(messages=items, handoff=handoff_state(session, sender))
