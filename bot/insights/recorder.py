"""The front door's turn recorder: one background thread writes turn
records in order, so a turn never waits for the database and the event loop
never blocks on it.

`record` only puts the turn on a queue. The thread takes what is queued,
and what comes within LINGER_SECONDS after it, and writes it in one
transaction; a batch that fails is written one by one, so one bad record
loses nothing else. Writing a few turns per commit instead of one keeps the
recorder's commits (each a disk flush on SQLite) from competing with the
turns in flight. Work that must see the turns before it (a comment after a
"nej") goes through `submit`, on the same thread, in the same order, and
is written at once.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from bot.insights.records import TurnFacts, store
from bot.logs import get_logger, origin
from bot.storage.db import session_scope

log = get_logger("bot.insights")
#: Turns waiting to be written before new ones are dropped (and logged).
MAX_QUEUED = 10_000
#: Most jobs written in one transaction.
MAX_BATCH = 200
#: Seconds the thread waits for more turns before it writes what it has.
LINGER_SECONDS = 0.25


@dataclass
class _Job:
    work: Callable[[Session], Any]
    done: Future[Any] = field(default_factory=Future)
    #: Somebody waits for it: write it without lingering.
    awaited: bool = False


class TurnRecorder:
    def __init__(self) -> None:
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize=MAX_QUEUED)
        self._thread = threading.Thread(target=self._run, name="turn-recorder", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        """Write what is queued, then stop."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)

    def record(self, facts: TurnFacts) -> None:
        """Queue one turn for writing; never blocks."""
        self._put(_Job(lambda session: store(session, facts)))

    def submit(self, work: Callable[[Session], Any]) -> Future[Any]:
        """Run `work` in a session on the recorder's thread, after every turn queued before it."""
        job = _Job(work, awaited=True)
        self._put(job)
        return job.done

    def _put(self, job: _Job) -> None:
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            log.warning("turn_record_dropped", queued=MAX_QUEUED)
            job.done.set_exception(RuntimeError("the turn recorder is full"))

    def _run(self) -> None:
        while True:
            batch, stopping = self._next_batch()
            if batch:
                self._write(batch)
            if stopping:
                return

    def _next_batch(self) -> tuple[list[_Job], bool]:
        """The jobs for one transaction: the next job and those that come
        within LINGER_SECONDS after it; and whether `stop` was called."""
        first = self._queue.get()
        if first is None:
            return [], True
        batch, deadline = [first], time.monotonic() + LINGER_SECONDS
        while len(batch) < MAX_BATCH:
            wait = 0.0 if any(job.awaited for job in batch) else max(deadline - time.monotonic(), 0.0)
            try:
                job = self._queue.get(timeout=wait) if wait else self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                return batch, True
            batch.append(job)
        return batch, False

    def _write(self, batch: list[_Job]) -> None:
        try:
            with session_scope() as session:
                results = [job.work(session) for job in batch]
        except Exception as exc:
            if len(batch) > 1:
                for job in batch:
                    self._write([job])
                return
            # Logged by type and place only: the data may be personal.
            log.error("turn_record_failed", error=type(exc).__name__, origin=origin(exc))
            batch[0].done.set_exception(exc)
            return
        for job, result in zip(batch, results, strict=True):
            job.done.set_result(result)
