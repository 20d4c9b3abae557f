"""Handoff cases in the real database: SQLite always, PostgreSQL when
TEST_DATABASE_URL is set (each run gets a fresh PostgreSQL database)."""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.api.chat_service import turn_state_query
from bot.caseworker.auth import create_caseworker
from bot.dialogue import handoff
from bot.handoff import rasa_queue, service
from bot.insights import maintenance
from bot.storage.db import make_engine, read_engine, read_one
from bot.storage.migrate import migrate
from bot.storage.models import Author, CaseMessage, CaseStatus, Caseworker, Channel, HandoffCase, OutboxMessage, Team
from bot.taxonomy import HandoffReason, Municipality

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database for this module, dropped afterwards."""
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    name = f"jobcenter_test_{secrets.token_hex(4)}"
    admin = create_engine(make_engine(TEST_DATABASE_URL).url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_engine(TEST_DATABASE_URL).url.set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sessions(request, tmp_path_factory) -> Iterator[sessionmaker[Session]]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'handoff.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    migrate(url)
    engine = make_engine(url)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


def _caseworker(session: Session, municipality: Municipality, team: Team = Team.BORGER) -> Caseworker:
    return create_caseworker(
        session,
        username=f"cw-{secrets.token_hex(4)}",
        display_name="Sara Nielsen",
        password="en-lang-adgangskode",
        municipality=municipality,
        team=team,
    )


def _case(session: Session, municipality: Municipality = Municipality.GLADSAXE, **changes) -> HandoffCase:
    new = service.NewCase(
        sender=f"s-{secrets.token_urlsafe(16)}",
        municipality=municipality,
        team=changes.pop("team", Team.BORGER),
        channel=changes.pop("channel", Channel.CHAT),
        reason=changes.pop("reason", HandoffReason.REQUEST_HUMAN),
        topic="fleksjob",
        article_ids=["alle-fleksjob-hvem-kan-faa"],
        transcript=[(Author.CITIZEN, "Hvad er et fleksjob?"), (Author.BOT, "Et fleksjob er ...")],
        description="Jeg vil tale om fleksjob",
        **changes,
    )
    return service.create_case(session, new)


def test_inbox_shows_only_own_municipality_and_team_most_urgent_first(sessions):
    with sessions.begin() as session:
        me = _caseworker(session, Municipality.RUDERSDAL)
        normal = _case(session, Municipality.RUDERSDAL)
        urgent = _case(session, Municipality.RUDERSDAL, reason=HandoffReason.CRISIS)
        other_team = _case(session, Municipality.RUDERSDAL, team=Team.VIRKSOMHED)
        other_town = _case(session, Municipality.BALLERUP)
        ids = [case.id for case in service.inbox(session, me)]
        assert ids[:2] == [urgent.id, normal.id]
        assert other_team.id not in ids and other_town.id not in ids
        with pytest.raises(service.CaseNotFoundError):
            service.case_for(session, me, other_town.id)
        with pytest.raises(service.CaseNotFoundError):
            service.claim(session, me, other_team.id, handoff.claimed(me.display_name, me.first_name))


def test_claim_reply_close_and_the_citizen_outbox(sessions):
    with sessions.begin() as session:
        me = _caseworker(session, Municipality.GLADSAXE)
        case = _case(session)
        service.claim(session, me, case.id, handoff.claimed(me.display_name, me.first_name))
        service.reply(session, me, case.id, handoff.caseworker_says("Hej, jeg hedder Sara.", me.first_name))
        service.add_note(session, me, case.id, "Privat")
        service.close(session, me, case.id, "Besvaret", handoff.closed(me.display_name))
        outbox = [m.payload for m in service.outbox_after(session, case.sender, 0)]
        assert [m["custom"].get("status") for m in outbox] == ["claimed", None, "closed"]
        assert outbox[1]["custom"]["caseworker"] == {"first_name": "Sara", "role": "medarbejder"}
        assert all("Privat" not in str(m) for m in outbox)
        thread = [(m.author, m.text) for m in service.case_for(session, me, case.id).messages]
        assert (Author.NOTE, "Privat") in thread and (Author.CASEWORKER, "Hej, jeg hedder Sara.") in thread
        assert session.get(HandoffCase, case.id).status is CaseStatus.CLOSED


def test_only_the_claimer_may_reply_or_close(sessions):
    with sessions.begin() as session:
        first, second = _caseworker(session, Municipality.GLADSAXE), _caseworker(session, Municipality.GLADSAXE)
        case = _case(session)
        service.claim(session, first, case.id, handoff.claimed(first.display_name, first.first_name))
        with pytest.raises(service.AlreadyClaimedError):
            service.claim(session, second, case.id, handoff.claimed(second.display_name, second.first_name))
        with pytest.raises(service.AlreadyClaimedError):
            service.reply(session, second, case.id, handoff.caseworker_says("Hej", second.first_name))
        with pytest.raises(service.AlreadyClaimedError):
            service.close(session, second, case.id, "Lukket", handoff.closed(second.display_name))


def test_queue_position_counts_more_urgent_and_older_cases(sessions):
    with sessions.begin() as session:
        first = _case(session, Municipality.RODOVRE)
        second = _case(session, Municipality.RODOVRE)
        crisis = _case(session, Municipality.RODOVRE, reason=HandoffReason.CRISIS)
        assert service.queue_position(session, crisis) == 1
        assert service.queue_position(session, first) == 2
        assert service.queue_position(session, second) == 3


def test_a_turns_state_is_one_read_and_on_postgresql_without_a_transaction(sessions):
    """What the front door reads before each turn, through the read engine:
    the live chat's status, its place in the queue, whether Rasa events wait."""
    with sessions.begin() as session:
        first, second = _case(session, Municipality.RODOVRE), _case(session, Municipality.RODOVRE)
        rasa_queue.enqueue(session, second.sender, {"event": "pause"})
    engine = read_engine(sessions.kw["bind"])
    with engine.connect() as connection:
        rows = [connection.execute(turn_state_query(), {"sender": s}).one() for s in (first.sender, second.sender, "x")]
        autocommit = getattr(connection.connection.dbapi_connection, "autocommit", None)
    (status, place, waits), (status_2, place_2, waits_2), (none, _, nothing) = (row[:3] for row in rows)
    assert (status, status_2, none) == (CaseStatus.WAITING, CaseStatus.WAITING, None)
    assert place_2 == place + 1
    assert (waits, waits_2, nothing) == (False, True, False)
    if engine.dialect.name == "postgresql":
        assert autocommit is True  # no BEGIN and ROLLBACK around the read
    else:
        assert engine is sessions.kw["bind"]


def test_read_one_gives_the_row_sqlalchemy_gives_in_every_state(sessions):
    """On SQLite read_one runs the statement compiled once on the driver's
    connection: the same values and types as SQLAlchemy's own execution,
    for a waiting, a second waiting, a claimed and no case, with events for
    Rasa queued and the chat closed for maintenance."""
    with sessions.begin() as session:
        me = _caseworker(session, Municipality.RODOVRE)
        first, second, claimed = (_case(session, Municipality.RODOVRE) for _ in range(3))
        service.claim(session, me, claimed.id, handoff.claimed(me.display_name, me.first_name))
        rasa_queue.enqueue(session, second.sender, {"event": "pause"})
        senders = (first.sender, second.sender, claimed.sender, "x")
    engine = read_engine(sessions.kw["bind"])
    for closed in (False, True):
        if closed:
            with sessions.begin() as session:
                maintenance.switch_on(session, None, None, None)
        with engine.connect() as connection:
            expected = [tuple(connection.execute(turn_state_query(), {"sender": s}).one()) for s in senders]
        read = [tuple(read_one(engine, turn_state_query(), {"sender": s})) for s in senders]
        assert read == expected
        assert [type(row[0]) for row in read] == [CaseStatus, CaseStatus, CaseStatus, type(None)]
        assert [row[3] for row in read] == [closed] * 4
    with sessions.begin() as session:
        maintenance.switch_off(session, None, None)


def test_read_one_fails_as_sqlalchemy_does_without_the_parameters(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # no tables
    with pytest.raises(OperationalError, match="no such table") as failed:
        read_one(engine, turn_state_query(), {"sender": "hemmelig-samtale"})
    assert "hemmelig-samtale" not in str(failed.value)
    engine.dispose()


@pytest.mark.postgres
def test_the_turns_read_survives_a_connection_the_database_dropped(postgres_url):
    """The read engine does not ping before each turn: when PostgreSQL has
    dropped its pooled connection (a restart), the read goes again on a new one."""
    migrate(postgres_url)
    engine = read_engine(make_engine(postgres_url))
    assert read_one(engine, turn_state_query(), {"sender": "x"})[0] is None
    with engine.connect() as connection:
        backend = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    admin = make_engine(postgres_url)
    with admin.connect() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend}).scalar_one()
    admin.dispose()
    assert read_one(engine, turn_state_query(), {"sender": "x"})[0] is None
    with engine.connect() as connection:
        assert connection.execute(text("SELECT pg_backend_pid()")).scalar_one() != backend
    engine.dispose()


def test_purge_removes_personal_data_of_old_closed_cases_only(sessions):
    with sessions.begin() as session:
        me = _caseworker(session, Municipality.BALLERUP)
        old = _case(session, Municipality.BALLERUP, channel=Channel.CALLBACK, contact_phone="12 34 56 78")
        recent = _case(session, Municipality.BALLERUP)
        still_open = _case(session, Municipality.BALLERUP)
        for case in (old, recent):
            service.claim(session, me, case.id, handoff.claimed(me.display_name, me.first_name))
            service.close(session, me, case.id, "Ringet op", handoff.closed(me.display_name))
        old.closed_at = old.closed_at - timedelta(days=31)
        session.flush()
        senders = service.purge(session, timedelta(days=30))
        assert old.sender in senders and recent.sender not in senders
        session.expire_all()
        purged = session.get(HandoffCase, old.id)
        assert purged.contact_phone is None and purged.description is None and purged.outcome is None
        assert purged.purged_at is not None and purged.municipality is Municipality.BALLERUP
        assert not session.scalars(select(CaseMessage).where(CaseMessage.case_id == old.id)).all()
        assert session.get(HandoffCase, recent.id).description
        assert session.get(HandoffCase, still_open.id).messages


def test_erase_deletes_every_case_and_message_of_a_sender(sessions):
    with sessions.begin() as session:
        case = _case(session, Municipality.GLADSAXE)
        service.post_to_citizen(session, case.sender, {"text": "hej"})
        assert service.erase(session, case.sender) == 1
        assert session.get(HandoffCase, case.id) is None
        assert not session.scalars(select(OutboxMessage).where(OutboxMessage.sender == case.sender)).all()


@pytest.mark.postgres
def test_two_simultaneous_claims_exactly_one_wins(postgres_url):
    migrate(postgres_url)
    engine = make_engine(postgres_url)
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory.begin() as session:
        rivals = [_caseworker(session, Municipality.GLADSAXE) for _ in range(2)]
        cases = [_case(session).id for _ in range(10)]
    outcomes: list[list[str]] = []
    for case_id in cases:
        barrier = threading.Barrier(2)
        results: list[str] = []

        def attempt(caseworker: Caseworker, case_id: int = case_id, barrier=barrier, results=results) -> None:
            with factory() as session:
                barrier.wait()
                try:
                    service.claim(
                        session, caseworker, case_id, handoff.claimed(caseworker.display_name, caseworker.first_name)
                    )
                    session.commit()
                    results.append("won")
                except service.AlreadyClaimedError:
                    session.rollback()
                    results.append("lost")

        threads = [threading.Thread(target=attempt, args=(rival,)) for rival in rivals]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        outcomes.append(sorted(results))
    engine.dispose()
    assert outcomes == [["lost", "won"]] * len(cases)
