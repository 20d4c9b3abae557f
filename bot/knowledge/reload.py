"""Knowledge updates without retraining: running action servers rebuild
their index when asked, through our database.

`python -m bot.admin reload-knowledge` first validates KNOWLEDGE_DIR: a
broken file is refused with the validator's messages, and nothing is asked.
Otherwise it adds a request (table knowledge_reloads). Every action server
looks for a new request every POLL_SECONDS, validates again and builds the
new index aside while the old one answers (bot.knowledge.service), and
writes back how it went; the command waits for that and prints it. A
SIGHUP to the action server reloads the same way without the database
(`systemctl reload jobcenter-actions`).

The front door uses the knowledge base too (contact routes, article titles
in the caseworker app and on the insights page). Each front-door worker
follows the action servers (`follow`): when a request has been loaded, it
builds the same knowledge base for itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.knowledge.service import KnowledgeInvalidError, reload_engine
from bot.logs import get_logger
from bot.storage.db import session_scope
from bot.storage.models import KnowledgeReload, utcnow

log = get_logger("bot.knowledge")
POLL_SECONDS = 2.0
PENDING, LOADED, REFUSED = "pending", "loaded", "refused"


@dataclass(frozen=True)
class Outcome:
    status: str
    detail: str


def request(session: Session) -> int:
    """Ask the action servers to reload; returns the request's id."""
    reload = KnowledgeReload(status=PENDING)
    session.add(reload)
    session.flush()
    return reload.id


def latest_id(session: Session, status: str | None = None) -> int:
    """The newest request's id (of those with `status`, when given); 0 when there is none."""
    query = select(func.max(KnowledgeReload.id))
    if status:
        query = query.where(KnowledgeReload.status == status)
    return session.scalar(query) or 0


def wait_for(reload_id: int, timeout: float) -> Outcome | None:
    """How the request went, once an action server has done it; None after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope() as session:
            reload = session.get(KnowledgeReload, reload_id)
            if reload is not None and reload.status != PENDING:
                return Outcome(reload.status, reload.detail or "")
        time.sleep(0.25)
    return None


def reload_now() -> Outcome:
    """Validate and rebuild this process's index; the old one stays on a problem."""
    try:
        engine = reload_engine()
    except KnowledgeInvalidError as invalid:
        log.warning("knowledge_refused", problems=len(invalid.problems), first=invalid.problems[0])
        return Outcome(REFUSED, "\n".join(invalid.problems))
    articles = len(engine.kb.articles)
    log.info("knowledge_reloaded", articles=articles)
    return Outcome(LOADED, f"{articles} articles")


def _finish(reload_id: int, outcome: Outcome) -> None:
    with session_scope() as session:
        reload = session.get(KnowledgeReload, reload_id)
        if reload is not None:
            reload.status, reload.detail, reload.finished_at = outcome.status, outcome.detail, utcnow()


def _newest(status: str | None = None) -> int:
    with session_scope() as session:
        return latest_id(session, status)


async def _each_new(status: str | None, handle: Callable[[int], object], name: str) -> None:
    """Every POLL_SECONDS, look for a newer request (with `status`, when
    given) and run `handle(its id)` in a thread."""
    seen = await asyncio.to_thread(_newest, status)
    while True:
        await asyncio.sleep(POLL_SECONDS)
        try:
            newest = await asyncio.to_thread(_newest, status)
            if newest > seen:
                await asyncio.to_thread(handle, newest)
                seen = newest
        except Exception as exc:  # the database is away for a moment: look again later
            log.warning(f"knowledge_{name}_failed", error=type(exc).__name__)


async def watch() -> None:
    """Reload whenever a new request appears, and say how it went (the action server runs this)."""
    await _each_new(None, lambda newest: _finish(newest, reload_now()), "watch")


async def follow() -> None:
    """Reload whenever an action server has loaded a new request (the front door runs this)."""
    await _each_new(LOADED, lambda _: reload_now(), "follow")
