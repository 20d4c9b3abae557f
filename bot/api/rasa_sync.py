"""Deliver the queued tracker events (bot/handoff/rasa_queue.py) to Rasa.

A background task in every front-door worker looks for due items once a
second, or at once when a caseworker action nudges it. Before a citizen's
turn goes to Rasa, the conversation's queue is delivered first (`flush`), so
a "resume" that waited for Rasa to come back always arrives before the next
message: no conversation is left paused behind the citizen's back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from fastapi.concurrency import run_in_threadpool

from bot.api.rasa_client import RasaClient, RasaUnavailableError
from bot.handoff import rasa_queue
from bot.logs import get_logger
from bot.storage.db import session_scope
from bot.storage.models import RasaEvent

log = get_logger("bot.rasa_sync")
POLL_SECONDS = 1.0
#: How long a turn waits for another worker that is delivering the same conversation.
FLUSH_WAIT_SECONDS = 3.0


def _lease(sender: str, due_only: bool) -> RasaEvent | None:
    with session_scope() as session:
        return rasa_queue.lease_head(session, sender, due_only=due_only)


def _settle(item_id: int, ok: bool) -> None:
    with session_scope() as session:
        (rasa_queue.delivered if ok else rasa_queue.failed)(session, item_id)


def _pending(sender: str) -> bool:
    with session_scope() as session:
        return rasa_queue.has_pending(session, sender)


def _due() -> list[str]:
    with session_scope() as session:
        return list(rasa_queue.due_senders(session))


class RasaSync:
    def __init__(self, rasa: RasaClient) -> None:
        self.rasa = rasa
        self._nudged = asyncio.Event()
        self._loop = asyncio.get_running_loop()

    def nudge(self) -> None:
        """Deliver soon (callable from any thread, such as a sync route's)."""
        self._loop.call_soon_threadsafe(self._nudged.set)

    async def _send(self, item: RasaEvent) -> bool:
        try:
            await self.rasa.add_event(item.sender, item.event)
        except RasaUnavailableError:
            return False
        return True

    async def deliver(self, sender: str, *, due_only: bool = True) -> bool:
        """Deliver the conversation's items in order; False at the first that fails."""
        while (item := await run_in_threadpool(_lease, sender, due_only)) is not None:
            ok = await self._send(item)
            await run_in_threadpool(_settle, item.id, ok)
            if not ok:
                log.warning("rasa_event_retry", rasa_event=item.event.get("event"), attempts=item.attempts + 1)
                return False
        return True

    async def flush(self, sender: str) -> bool:
        """Before a turn: True once nothing is queued for the conversation."""
        deadline = time.monotonic() + FLUSH_WAIT_SECONDS
        while await run_in_threadpool(_pending, sender):
            if not await self.deliver(sender, due_only=False) or time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def run(self) -> None:
        """Deliver due items until cancelled."""
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._nudged.wait(), POLL_SECONDS)
            self._nudged.clear()
            try:
                for sender in await run_in_threadpool(_due):
                    await self.deliver(sender)
            except Exception as exc:  # the database may be down too; try again next round
                log.warning("rasa_sync_failed", error=type(exc).__name__)
