"""Announcing that a citizen's stream has something new (push without polling).

A writer that changes what a citizen's SSE stream shows (an outbox message,
the state of their case, their place in the queue) calls `announce` in the
same transaction. Listeners hear it only once that transaction commits:

- PostgreSQL: `pg_notify(CHANNEL, key)` inside the transaction, so it is
  delivered on commit, to every front-door process that LISTENs (`listen`).
- SQLite (the embedded default, one front-door process): the keys wait on
  the session and go to the in-process listeners (`on_commit`) after commit.

The key is the sender's hashed id, never the sender: notifications carry no
personal data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from typing import Any

import psycopg
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bot.logs import get_logger
from bot.privacy import hash_sender
from bot.settings import get_settings

log = get_logger("bot.changes")

#: The PostgreSQL notification channel of citizens' streams.
CHANNEL = "citizen_stream"
#: application_name of the LISTEN connection (seen in pg_stat_activity).
LISTENER_NAME = "jobcenter-stream-listener"
#: Seconds between attempts to (re)connect the LISTEN connection: doubling up to the last.
RECONNECT_SECONDS = (0.5, 1, 2, 5, 10)

Wake = Callable[[Collection[str] | None], None]
"""Wake the streams of these keys; None: every stream (notifications may have been missed)."""

#: TCP keepalives, so a silently dropped connection is noticed within about a minute.
_KEEPALIVE = {"keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}
_PENDING = "stream_keys"
_on_commit: list[Wake] = []


def stream_key(sender: str) -> str:
    """The key a sender's stream waits on."""
    return hash_sender(sender, get_settings().sender_hash_salt.get_secret_value())


def notifies_across_processes(database_url: str) -> bool:
    """PostgreSQL carries notifications to other processes; SQLite does not."""
    return make_url(database_url).get_backend_name() == "postgresql"


def announce(session: Session, sender: str) -> None:
    """The sender's stream has something new once this transaction commits."""
    key = stream_key(sender)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_notify(CHANNEL, key)))
    else:
        session.info.setdefault(_PENDING, set()).add(key)


def on_commit(wake: Wake) -> Callable[[], None]:
    """Hear the keys of this process's commits (SQLite); returns the unsubscribe."""
    _on_commit.append(wake)
    return lambda: _on_commit.remove(wake)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    keys: set[str] | None = session.info.pop(_PENDING, None)
    if not keys:
        return
    for wake in list(_on_commit):
        wake(keys)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _conninfo(database_url: str) -> str:
    """A libpq URL from our SQLAlchemy URL (postgresql+psycopg://...)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


async def listen(database_url: str, wake: Wake) -> None:
    """Hold one LISTEN connection and wake the streams of each notification;
    reconnect with back-off when the connection is lost. After each
    (re)connect every stream is woken once: notifications sent while no one
    listened are lost."""
    failures = 0
    options: dict[str, Any] = {"autocommit": True, "application_name": LISTENER_NAME, **_KEEPALIVE}
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(_conninfo(database_url), **options) as conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                failures = 0
                wake(None)
                async for notice in conn.notifies():
                    wake((notice.payload,))
        except psycopg.Error as exc:
            log.warning("stream_listener_lost", error=type(exc).__name__)
        await asyncio.sleep(RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)])
        failures += 1
