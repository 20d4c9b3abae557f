"""The admin CLI, run as a command against the real databases and Rasa's tracker store."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import create_engine, select, text

from bot.admin import parse_age
from bot.dialogue import handoff
from bot.handoff import service
from bot.settings import ROOT
from bot.storage.db import session_scope
from bot.storage.models import Author, Caseworker, Channel, HandoffCase, Team, utcnow
from bot.taxonomy import HandoffReason, Municipality
from tests.conftest import add_caseworker, new_sender

PASSWORD = "admin-test-adgangskode"


def admin(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run `python -m bot.admin` with the test settings; stdin answers the password prompts."""
    return subprocess.run(
        [sys.executable, "-m", "bot.admin", *args],
        cwd=ROOT,
        env=os.environ.copy(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,  # no terminal: getpass reads the answers from stdin
    )


def tracker_rows(settings, sender: str) -> int:
    engine = create_engine(settings.tracker_database_url)
    try:
        with engine.connect() as connection:
            query = text("SELECT COUNT(*) FROM events WHERE sender_id = :s")
            return connection.execute(query, {"s": sender}).scalar() or 0
    finally:
        engine.dispose()


def test_parse_age():
    assert parse_age("30d") == timedelta(days=30)
    with pytest.raises(Exception, match="days"):
        parse_age("30")


def test_create_caseworker_asks_for_the_password_twice(migrated):
    username = f"cli-{secrets.token_hex(4)}"
    args = ["create-caseworker", "--municipality", "gladsaxe", "--team", "virksomhed", "--username", username]
    result = admin(*args, "--name", "Ida Lund", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.returncode == 0, result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    with session_scope() as session:
        created = session.scalar(select(Caseworker).where(Caseworker.username == username))
        assert (created.municipality, created.team, created.first_name) == (
            Municipality.GLADSAXE,
            Team.VIRKSOMHED,
            "Ida",
        )
        assert PASSWORD not in created.password_hash and created.password_hash.startswith("$argon2")
    again = admin(*args, stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert again.returncode == 1 and "taken" in again.stderr


def test_create_caseworker_refuses_a_short_or_mistyped_password(migrated):
    args = [
        "create-caseworker",
        "--municipality",
        "rodovre",
        "--team",
        "borger",
        "--username",
        f"cli-{secrets.token_hex(4)}",
    ]
    result = admin(*args, stdin="kort\nmindst-tolv-tegn-1\nmindst-tolv-tegn-2\n")
    assert "mindst 12 tegn" in result.stderr
    assert "ikke ens" in result.stderr
    assert result.returncode != 0  # input ran out before a valid password: nothing created


@pytest.mark.integration
def test_erase_deletes_the_conversation_everywhere(web, settings):
    sender = new_sender()
    body = {"sender": sender, "message": "Hvad er et fleksjob?", "metadata": {"municipality": "gladsaxe"}}
    assert web.post("/api/chat", json=body).status_code == 200
    with session_scope() as session:
        new = service.NewCase(
            sender=sender,
            municipality=Municipality.GLADSAXE,
            team=Team.BORGER,
            channel=Channel.CALLBACK,
            reason=HandoffReason.REQUEST_HUMAN,
            topic="fleksjob",
            article_ids=[],
            transcript=[(Author.CITIZEN, "Hvad er et fleksjob?")],
            description="Ring mig op",
            contact_phone="12 34 56 78",
        )
        service.create_case(session, new)
    assert tracker_rows(settings, sender) > 0

    result = admin("erase", "--sender", sender)
    assert result.returncode == 0, result.stderr
    assert tracker_rows(settings, sender) == 0
    with session_scope() as session:
        assert not session.scalars(select(HandoffCase).where(HandoffCase.sender == sender)).all()
    token = settings.rasa_token.get_secret_value()
    tracker = httpx.get(f"{settings.rasa_url}/conversations/{sender}/tracker", params={"token": token}).json()
    assert not [e for e in tracker["events"] if e["event"] == "user"]


@pytest.mark.integration
def test_purge_removes_old_closed_cases_and_their_conversations(web, settings):
    sender = new_sender()
    body = {"sender": sender, "message": "Hvad er løntilskud?", "metadata": {"municipality": "rodovre"}}
    assert web.post("/api/chat", json=body).status_code == 200
    with session_scope() as session:
        username = add_caseworker(Municipality.RODOVRE, Team.BORGER, "Per Lau")
        worker = session.scalars(select(Caseworker).where(Caseworker.username == username)).one()
        new = service.NewCase(
            sender=sender,
            municipality=Municipality.RODOVRE,
            team=worker.team,
            channel=Channel.CALLBACK,
            reason=HandoffReason.REQUEST_HUMAN,
            topic=None,
            article_ids=[],
            transcript=[(Author.CITIZEN, "Hvad er løntilskud?")],
            description="Ring til mig",
            contact_phone="87 65 43 21",
        )
        case = service.create_case(session, new)
        service.claim(session, worker, case.id, handoff.claimed(worker.display_name, worker.first_name))
        service.close(session, worker, case.id, "Ringet op", handoff.closed(worker.display_name))
        case.closed_at = utcnow() - timedelta(days=40)
        case_id = case.id

    result = admin("purge", "--older-than", "30d")
    assert result.returncode == 0, result.stderr
    with session_scope() as session:
        purged = session.get(HandoffCase, case_id)
        assert purged.contact_phone is None and purged.description is None and not purged.messages
    assert tracker_rows(settings, sender) == 0
