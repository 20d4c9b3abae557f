"""The turn recorder writes the turns queued close together in one
transaction, writes work somebody waits for at once and after the turns
queued before it, and loses nothing queued when it stops; on the real
(migrated) database."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from bot.insights.recorder import TurnRecorder
from bot.insights.records import TurnFacts
from bot.storage.db import get_engine
from bot.storage.models import TurnRecord, utcnow
from bot.taxonomy import Audience, Municipality


def facts(sender_hash: str) -> TurnFacts:
    return TurnFacts(
        at=utcnow(),
        sender_hash=sender_hash,
        municipality=Municipality.RODOVRE,
        audience=Audience.BORGER,
        intent="ask_question",
        confidence=0.9,
        kind="answer",
        reason=None,
        topic="fleksjob",
        article_id=None,
        latency_ms=40.0,
        text="Hvad er et fleksjob?",
    )


def count(sender_hash: str) -> object:
    def work(session: Session) -> int:
        return int(session.scalar(select(func.count()).where(TurnRecord.sender_hash == sender_hash)) or 0)

    return work


@pytest.fixture
def commits(migrated) -> Iterator[list[int]]:
    """One entry for every transaction committed on our database meanwhile."""
    seen: list[int] = []

    def committed(_connection: object) -> None:
        seen.append(1)

    event.listen(get_engine(), "commit", committed)
    yield seen
    event.remove(get_engine(), "commit", committed)


def test_turns_queued_together_are_written_in_one_transaction_before_work_queued_after_them(commits):
    sender_hash = secrets.token_hex(8)
    recorder = TurnRecorder()
    recorder.start()
    recorder.record(facts(sender_hash))
    time.sleep(0.05)  # the thread has taken the first turn, and waits LINGER_SECONDS for more
    for _ in range(4):
        recorder.record(facts(sender_hash))
    # Somebody waits for this one: it is written without lingering, with the turns before it.
    assert recorder.submit(count(sender_hash)).result(timeout=30) == 5
    assert len(commits) == 1
    recorder.stop()


def test_stopping_writes_every_queued_turn(migrated):
    sender_hash = secrets.token_hex(8)
    recorder = TurnRecorder()
    recorder.start()
    for _ in range(3):
        recorder.record(facts(sender_hash))
    recorder.stop()
    assert not recorder._thread.is_alive()
    checker = TurnRecorder()
    checker.start()
    assert checker.submit(count(sender_hash)).result(timeout=30) == 3
    checker.stop()
