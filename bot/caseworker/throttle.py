"""Login throttling that stops password guessing without handing anyone a lockout.

Every login attempt counts against two counters: its (username, client
address) pair, and its client address across all usernames. A pair may fail
LOGIN_MAX_FAILURES times, an address LOGIN_MAX_FAILURES_PER_CLIENT times
(higher, as an office shares one address; this stops password spraying).
After that, each further attempt must first wait 1, 2, 4, ... minutes, at
most an hour. A counter starts over LOGIN_WINDOW_MINUTES after its last
attempt or the end of its wait. A successful login forgets its pair and takes
its attempt back from the address. Attempts from elsewhere never count
against a caseworker's own pair or address, so nobody elsewhere can lock her
out.

An attempt is counted, atomically (one upsert per counter) and committed,
before its password is checked: parallel attempts each see their own count,
and no attempt over the limit is checked. The counters are keyed by an HMAC
of username and address with SENDER_HASH_SALT; the table holds neither.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.settings import Settings
from bot.storage.db import rows_changed
from bot.storage.models import LoginThrottle, utcnow

MAX_WAIT_MINUTES = 60
#: The dialects whose INSERT has ON CONFLICT DO UPDATE (their statements differ in type only).
_INSERTS: dict[str, Callable[..., Any]] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


class LoginThrottledError(Exception):
    """The pair or the address must wait before its next attempt is checked."""

    def __init__(self, wait: timedelta) -> None:
        super().__init__(f"wait {wait}")
        self.wait = wait


@dataclass(frozen=True)
class Counter:
    key: str
    limit: int


def counters(settings: Settings, username: str, client: str) -> tuple[Counter, Counter]:
    """The counters of the (username, address) pair and of the address."""
    salt = settings.sender_hash_salt.get_secret_value().encode()

    def key(*parts: str) -> str:
        return hmac.new(salt, json.dumps(parts).encode(), hashlib.sha256).hexdigest()

    return (
        Counter(key("pair", username, client), settings.login_max_failures),
        Counter(key("client", client), settings.login_max_failures_per_client),
    )


def wait_after(failures: int, limit: int) -> timedelta:
    """The wait after the attempt that brought a counter to `failures`: 1, 2, 4, ... minutes from the limit on."""
    return timedelta(minutes=min(2 ** min(failures - limit, 6), MAX_WAIT_MINUTES))


def count_attempt(session: Session, window: timedelta, *attempted: Counter) -> None:
    """Count one attempt on every counter and commit the session.

    Raises LoginThrottledError, and counts nothing, when a counter is waiting.
    """
    now = utcnow()
    if all(_count(session, counter, now, window) for counter in attempted):
        session.commit()
        return
    session.rollback()
    raise LoginThrottledError(_wait(session, attempted, now))


def _count(session: Session, counter: Counter, now: datetime, window: timedelta) -> bool:
    """Add one attempt to a counter that is not waiting (and start its wait at
    the limit); False if it is waiting. The row stays locked until commit."""
    insert = _INSERTS[session.get_bind().dialect.name]
    upsert = insert(LoginThrottle).values(key=counter.key, failures=1, expires_at=now + window)
    upsert = upsert.on_conflict_do_update(
        index_elements=[LoginThrottle.key],
        set_={
            "failures": case((LoginThrottle.expires_at <= now, 1), else_=LoginThrottle.failures + 1),
            "expires_at": now + window,
        },
        where=or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now),
    )
    failures = session.execute(upsert.returning(LoginThrottle.failures)).scalar()
    if failures is None:
        return False
    if failures >= counter.limit:
        until = now + wait_after(failures, counter.limit)
        lock = update(LoginThrottle).where(LoginThrottle.key == counter.key)
        session.execute(lock.values(locked_until=until, expires_at=until + window))
    return True


def _wait(session: Session, attempted: tuple[Counter, ...], now: datetime) -> timedelta:
    keys = [counter.key for counter in attempted]
    locks = session.scalars(select(LoginThrottle.locked_until).where(LoginThrottle.key.in_(keys)))
    until = max((lock for lock in locks if lock), default=now)
    return max(until - now, timedelta(seconds=1))


def forget(session: Session, pair: Counter, address: Counter) -> None:
    """After a successful login: forget the pair, and take its attempt back from the address."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == pair.key))
    remaining = LoginThrottle.failures - 1
    take_back = update(LoginThrottle).where(LoginThrottle.key == address.key, LoginThrottle.failures > 0)
    take_back = take_back.values(
        failures=remaining,
        locked_until=case((remaining < address.limit, None), else_=LoginThrottle.locked_until),
    )
    session.execute(take_back.execution_options(synchronize_session=False))


def delete_expired(session: Session, now: datetime | None = None) -> int:
    """Delete the counters that have started over; return how many."""
    expired = delete(LoginThrottle).where(LoginThrottle.expires_at <= (now or utcnow()))
    return rows_changed(session.execute(expired.execution_options(synchronize_session=False)))
