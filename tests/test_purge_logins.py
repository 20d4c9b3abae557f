"""`python -m bot.admin purge` also deletes expired caseworker sessions and login counters
(run through the command's main function against the real test database)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select

from bot.admin import main
from bot.caseworker import auth
from bot.storage.db import session_scope
from bot.storage.models import Caseworker, CaseworkerSession, LoginThrottle, Team, utcnow
from bot.taxonomy import Municipality
from tests.conftest import add_caseworker


def test_purge_deletes_expired_sessions_and_login_counters(migrated, capsys):
    username = add_caseworker(Municipality.GLADSAXE, Team.BORGER, "Karen Dahl")
    now = utcnow()
    with session_scope() as session:
        caseworker = session.scalars(select(Caseworker).where(Caseworker.username == username)).one()
        live_token = auth.start_session(session, caseworker)
        old_token = auth.start_session(session, caseworker)
        session.flush()
        auth.find_session(session, old_token).expires_at = now - timedelta(minutes=1)
        live_key, old_key = secrets.token_hex(32), secrets.token_hex(32)
        session.add(LoginThrottle(key=live_key, failures=3, expires_at=now + timedelta(minutes=5)))
        session.add(
            LoginThrottle(
                key=old_key, failures=9, locked_until=now - timedelta(minutes=20), expires_at=now - timedelta(minutes=5)
            )
        )

    assert main(["purge"]) == 0
    assert "expired caseworker sessions" in capsys.readouterr().out

    with session_scope() as session:
        assert auth.find_session(session, live_token) is not None
        logins = session.scalars(select(CaseworkerSession).where(CaseworkerSession.caseworker_id == caseworker.id))
        assert len(logins.all()) == 1
        kept = session.scalars(select(LoginThrottle.key).where(LoginThrottle.key.in_([live_key, old_key])))
        assert kept.all() == [live_key]
