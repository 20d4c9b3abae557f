"""How a client gets messages it did not ask for (caseworker replies).

Two ways, same data: Server-Sent Events (GET /api/chat/{sender}/events),
which the widget uses, and plain polling (GET /api/chat/{sender}/messages
?after=<last id>) for clients that cannot keep a connection open.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from bot.api.inbox import read_inbox
from bot.api.schemas import MAX_ID, SENDER_PATTERN, ErrorBody, Inbox
from bot.api.state import StateDep
from bot.storage.changes import stream_key

router = APIRouter(prefix="/api/chat", tags=["chat"])

HEARTBEAT_SECONDS = 15
Sender = Annotated[str, Path(pattern=SENDER_PATTERN, description="The conversation id used in POST /api/chat.")]
After = Annotated[int, Query(ge=0, le=MAX_ID, description="The last message id the client has.")]


@router.get("/{sender}/messages", response_model=Inbox, responses={422: {"model": ErrorBody}})
async def messages(sender: Sender, after: After = 0) -> Inbox:
    """Messages for the citizen after the given id, and the handoff state.
    Poll every 1-2 seconds while a handoff is open."""
    return await run_in_threadpool(read_inbox, sender, after)


@router.get("/{sender}/events", responses={200: {"content": {"text/event-stream": {}}}})
async def events(
    sender: Sender,
    state: StateDep,
    last_event_id: Annotated[int | None, Header(ge=0, le=MAX_ID)] = None,
    after: After = 0,
) -> StreamingResponse:
    """Server-Sent Events: one `message` event per outbox message (its id is
    the event id, so a reconnecting browser resumes after Last-Event-ID) and
    a `handoff` event whenever the handoff state changes.

    The stream reads the database once on connect and then only when told
    that something changed (bot/api/streams.py): an idle stream costs no
    query, only a heartbeat comment every HEARTBEAT_SECONDS."""

    async def stream() -> AsyncIterator[str]:
        cursor = last_event_id or after
        shown = None
        yield "retry: 2000\n\n"
        with state.streams.subscribe(stream_key(sender)) as woken:
            while True:
                woken.clear()  # before the read: a change during it wakes the next one
                inbox = await run_in_threadpool(read_inbox, sender, cursor)
                for item in inbox.messages:
                    cursor = item.id
                    yield f"id: {item.id}\nevent: message\ndata: {item.model_dump_json(exclude_none=True)}\n\n"
                current = inbox.handoff.model_dump_json() if inbox.handoff else "null"
                if current != shown:
                    shown = current
                    yield f"event: handoff\ndata: {current}\n\n"
                while not await _woken_within(woken, HEARTBEAT_SECONDS):
                    yield ": keep-alive\n\n"

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


async def _woken_within(woken: asyncio.Event, seconds: float) -> bool:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(woken.wait(), seconds)
    return woken.is_set()
