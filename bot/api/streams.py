"""The open SSE streams of this front-door process, and what wakes them.

Each stream waits on its sender's key (bot.storage.changes.stream_key) and
reads the database only when woken: by a PostgreSQL notification (one
LISTEN connection per process, `changes.listen`), or with SQLite by this
process's own commits (`changes.on_commit`) and after each chat turn, which
covers what the action server wrote during the turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterator
from contextlib import contextmanager

from bot.storage import changes


class StreamHub:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listens = changes.notifies_across_processes(database_url)

    @contextmanager
    def subscribe(self, key: str) -> Iterator[asyncio.Event]:
        """An event set whenever the key's stream has something new; it is
        forgotten when the stream ends (the client went away)."""
        woken = asyncio.Event()
        self._waiters.setdefault(key, set()).add(woken)
        try:
            yield woken
        finally:
            waiters = self._waiters[key]
            waiters.discard(woken)
            if not waiters:
                del self._waiters[key]

    def waiting(self) -> int:
        """How many streams wait."""
        return sum(len(waiters) for waiters in self._waiters.values())

    def wake(self, keys: Collection[str] | None) -> None:
        """Wake the streams of these keys; None wakes every stream. Runs on the event loop."""
        chosen = self._waiters.values() if keys is None else [self._waiters.get(key, set()) for key in keys]
        for waiters in chosen:
            for woken in waiters:
                woken.set()

    def _wake_from_thread(self, keys: Collection[str] | None) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.wake, keys)

    def after_turn(self, sender: str) -> None:
        """A chat turn is done. Without LISTEN nothing else tells this process
        what the action server wrote during it (a new case), so wake the
        sender's streams."""
        if not self._listens:
            self.wake((changes.stream_key(sender),))

    async def run(self) -> None:
        """Hear the changes until cancelled: LISTEN on PostgreSQL, this process's commits on SQLite."""
        self._loop = asyncio.get_running_loop()
        if self._listens:
            await changes.listen(self.database_url, self.wake)
            return
        unsubscribe = changes.on_commit(self._wake_from_thread)
        try:
            await asyncio.Event().wait()
        finally:
            unsubscribe()
