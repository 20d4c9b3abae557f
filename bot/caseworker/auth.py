"""Caseworker accounts, passwords (argon2), sessions and CSRF; login throttling in throttle.py."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from pwdlib import PasswordHash
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.caseworker import throttle
from bot.settings import Settings
from bot.storage.db import rows_changed
from bot.storage.models import Caseworker, CaseworkerSession, Role, utcnow
from bot.taxonomy import Municipality, Team

SESSION_COOKIE = "cw_session"
LOGIN_CSRF_COOKIE = "cw_login_csrf"
SESSION_HOURS = 8
MIN_PASSWORD_LENGTH = 12
_hasher = PasswordHash.recommended()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_caseworker(
    session: Session,
    *,
    username: str,
    display_name: str,
    password: str,
    municipality: Municipality,
    team: Team | None,
    role: Role = Role.CASEWORKER,
) -> Caseworker:
    """An account; caseworkers and admins handle cases and need a team, curators have none."""
    if role.handles_cases and team is None:
        raise ValueError(f"a {role.value} needs a team")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalar(select(Caseworker).where(Caseworker.username == username)):
        raise ValueError(f"the username {username!r} is taken")
    caseworker = Caseworker(
        username=username,
        display_name=display_name,
        password_hash=_hasher.hash(password),
        municipality=municipality,
        team=team,
        role=role,
    )
    session.add(caseworker)
    session.flush()
    return caseworker


def authenticate(session: Session, settings: Settings, username: str, password: str, client: str) -> Caseworker | None:
    """The caseworker for these credentials, or None.

    The attempt is counted, and the session committed, before the password is
    checked; raises throttle.LoginThrottledError without checking it when the
    (username, client) pair or the client must wait.
    """
    pair, address = throttle.counters(settings, username, client)
    throttle.count_attempt(session, timedelta(minutes=settings.login_window_minutes), pair, address)
    caseworker = session.scalar(select(Caseworker).where(Caseworker.username == username, Caseworker.active))
    valid = _hasher.verify(password, caseworker.password_hash) if caseworker else _hasher.verify(password, _DUMMY)
    if not (caseworker and valid):
        return None
    throttle.forget(session, pair, address)
    return caseworker


#: Verified against when the username does not exist, so both cases take as long.
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))


def start_session(session: Session, caseworker: Caseworker) -> str:
    """Create a session; return the token for the cookie (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    session.add(
        CaseworkerSession(
            token_hash=_digest(token),
            caseworker_id=caseworker.id,
            csrf_token=secrets.token_urlsafe(32),
            expires_at=utcnow() + timedelta(hours=SESSION_HOURS),
        )
    )
    return token


def find_session(session: Session, token: str | None) -> CaseworkerSession | None:
    if not token:
        return None
    found = session.scalar(select(CaseworkerSession).where(CaseworkerSession.token_hash == _digest(token)))
    if found is None or found.expires_at <= utcnow() or not found.caseworker.active:
        return None
    return found


def end_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(CaseworkerSession).where(CaseworkerSession.token_hash == _digest(token)))


def delete_expired_sessions(session: Session, now: datetime | None = None) -> int:
    """Delete the sessions that have expired; return how many."""
    expired = delete(CaseworkerSession).where(CaseworkerSession.expires_at <= (now or utcnow()))
    return rows_changed(session.execute(expired.execution_options(synchronize_session=False)))


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and secrets.compare_digest(expected, given or "")
