"""Login throttling in the real database: SQLite (a file) always, PostgreSQL
when TEST_DATABASE_URL is set. Parallel attempts run in threads, each with
its own database session, and the test counts real argon2 verifications."""

from __future__ import annotations

import os
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot.api.main import create_app
from bot.caseworker import auth, throttle
from bot.settings import Settings
from bot.stack import migrate
from bot.storage.db import make_engine
from bot.storage.models import Base, LoginThrottle, Team, utcnow
from bot.taxonomy import Municipality
from tests.conftest import CASEWORKER_PASSWORD, add_caseworker

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
WRONG = "forkert-adgangskode"
_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database for this module, dropped afterwards."""
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    name = f"jobcenter_throttle_{secrets.token_hex(4)}"
    admin = create_engine(make_engine(TEST_DATABASE_URL).url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_engine(TEST_DATABASE_URL).url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sessions(request, tmp_path_factory) -> Iterator[sessionmaker[Session]]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'throttle.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    migrate(url)
    engine = make_engine(url)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


@pytest.fixture
def username(sessions) -> str:
    name = f"cw-{secrets.token_hex(4)}"
    with sessions.begin() as session:
        auth.create_caseworker(
            session,
            username=name,
            display_name="Sara Nielsen",
            password=CASEWORKER_PASSWORD,
            municipality=Municipality.GLADSAXE,
            team=Team.BORGER,
        )
    return name


@pytest.fixture
def verifications(monkeypatch) -> list[int]:
    """Every argon2 verification the login makes, counted."""
    calls: list[int] = []
    real = auth._hasher.verify

    def counting(password: str, hash: str) -> bool:
        calls.append(1)
        return real(password, hash)

    monkeypatch.setattr(auth._hasher, "verify", counting)
    return calls


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock(monkeypatch) -> Clock:
    frozen = Clock()
    monkeypatch.setattr(throttle, "utcnow", lambda: frozen.now)
    return frozen


def address() -> str:
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(256)}"


def attempt(sessions: sessionmaker[Session], settings: Settings, username: str, password: str, client: str) -> str:
    """One login as the route makes it, in its own session: ok, wrong or throttled."""
    with sessions() as session:
        try:
            found = auth.authenticate(session, settings, username, password, client)
        except throttle.LoginThrottledError:
            return "throttled"
        session.commit()
        return "ok" if found else "wrong"


def wait_of(sessions: sessionmaker[Session], settings: Settings, username: str, client: str) -> timedelta:
    with sessions() as session, pytest.raises(throttle.LoginThrottledError) as raised:
        auth.authenticate(session, settings, username, CASEWORKER_PASSWORD, client)
    return raised.value.wait


def in_parallel(count: int, work: Callable[[int], str]) -> list[str]:
    """Run work(0..count-1) in threads released at the same moment."""
    barrier = threading.Barrier(count)

    def run(index: int) -> str:
        barrier.wait()
        return work(index)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def test_parallel_wrong_passwords_for_one_user_are_checked_at_most_the_limit(
    sessions, settings, username, verifications
):
    client = address()
    outcomes = in_parallel(40, lambda _: attempt(sessions, settings, username, WRONG, client))
    assert len(verifications) == settings.login_max_failures
    assert (
        sorted(outcomes) == ["throttled"] * (40 - settings.login_max_failures) + ["wrong"] * settings.login_max_failures
    )
    assert attempt(sessions, settings, username, CASEWORKER_PASSWORD, client) == "throttled"


def test_parallel_spraying_from_one_address_is_checked_at_most_the_address_limit(sessions, settings, verifications):
    client = address()
    outcomes = in_parallel(60, lambda i: attempt(sessions, settings, f"gaet-{i}", WRONG, client))
    assert len(verifications) == settings.login_max_failures_per_client
    assert outcomes.count("wrong") == settings.login_max_failures_per_client
    assert outcomes.count("throttled") == 60 - settings.login_max_failures_per_client


def test_a_locked_pair_does_not_lock_the_caseworker_out_from_her_own_address(sessions, settings, username):
    attacker, office = address(), address()
    for _ in range(settings.login_max_failures):
        assert attempt(sessions, settings, username, WRONG, attacker) == "wrong"
    assert attempt(sessions, settings, username, CASEWORKER_PASSWORD, attacker) == "throttled"
    assert attempt(sessions, settings, username, CASEWORKER_PASSWORD, office) == "ok"


def test_the_wait_doubles_from_one_minute_up_to_an_hour(sessions, settings, username, clock):
    client = address()
    for _ in range(settings.login_max_failures):
        assert attempt(sessions, settings, username, WRONG, client) == "wrong"
    waits = []
    for _ in range(8):
        wait = wait_of(sessions, settings, username, client)
        waits.append(wait)
        clock.advance(wait - timedelta(seconds=1))
        assert attempt(sessions, settings, username, CASEWORKER_PASSWORD, client) == "throttled"
        clock.advance(timedelta(seconds=1))
        assert attempt(sessions, settings, username, WRONG, client) == "wrong"
    assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 32, 60, 60)]


def test_a_success_resets_the_pair(sessions, settings, username, verifications):
    client = address()
    for _ in range(settings.login_max_failures - 1):
        assert attempt(sessions, settings, username, WRONG, client) == "wrong"
    assert attempt(sessions, settings, username, CASEWORKER_PASSWORD, client) == "ok"
    for _ in range(settings.login_max_failures):
        assert attempt(sessions, settings, username, WRONG, client) == "wrong"
    assert attempt(sessions, settings, username, CASEWORKER_PASSWORD, client) == "throttled"
    assert len(verifications) == 2 * settings.login_max_failures


def test_successful_logins_do_not_use_up_the_address_limit(sessions, settings, username):
    strict = settings.model_copy(update={"login_max_failures_per_client": 2})
    office = address()
    outcomes = [attempt(sessions, strict, username, CASEWORKER_PASSWORD, office) for _ in range(4)]
    assert outcomes == ["ok"] * 4
    assert attempt(sessions, strict, f"kollega-{secrets.token_hex(3)}", WRONG, office) == "wrong"
    assert attempt(sessions, strict, username, CASEWORKER_PASSWORD, office) == "ok"


def test_counters_start_over_after_the_window_and_purge_deletes_them(sessions, settings, username, clock):
    client = address()
    keys = [counter.key for counter in throttle.counters(settings, username, client)]

    def purge_and_count() -> int:
        with sessions.begin() as session:
            throttle.delete_expired(session, clock.now)
            return len(session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(keys))).all())

    for _ in range(settings.login_max_failures):
        attempt(sessions, settings, username, WRONG, client)
    window = timedelta(minutes=settings.login_window_minutes)
    clock.advance(timedelta(minutes=1) + window - timedelta(seconds=1))
    assert purge_and_count() == 1  # the pair waited, so it remembers; the address has started over
    assert attempt(sessions, settings, username, WRONG, client) == "wrong"  # the wait is over, not the count
    assert wait_of(sessions, settings, username, client) == timedelta(minutes=2)

    clock.advance(timedelta(minutes=2) + window)
    for _ in range(settings.login_max_failures - 1):
        assert attempt(sessions, settings, username, WRONG, client) == "wrong"
    clock.advance(window)
    assert purge_and_count() == 0


def test_the_table_holds_no_usernames_or_addresses(sessions, settings, username):
    client = address()
    attempt(sessions, settings, username, WRONG, client)
    with sessions() as session:
        rows = session.execute(select(LoginThrottle.__table__)).all()
    assert rows
    stored = repr(rows)
    assert username not in stored and client not in stored


def test_migrations_and_models_agree(sessions):
    with sessions.kw["bind"].connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


# -- through HTTP ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def app(settings, migrated):
    return create_app(settings)


def login(app, client: str, username: str, password: str):
    with TestClient(app, client=(client, 50000), follow_redirects=False) as http:
        token = _CSRF.search(http.get("/caseworker/login").text).group(1)
        return http.post("/caseworker/login", data={"username": username, "password": password, "csrf_token": token})


def test_the_login_page_says_in_danish_how_long_to_wait(app, settings):
    username = add_caseworker(Municipality.RUDERSDAL, Team.BORGER, "Lis Holm")
    attacker, office = address(), address()
    for _ in range(settings.login_max_failures):
        assert login(app, attacker, username, WRONG).status_code == 401
    throttled = login(app, attacker, username, CASEWORKER_PASSWORD)
    assert throttled.status_code == 429
    assert "For mange forkerte forsøg. Vent 1 minut, og prøv igen." in throttled.text
    assert 0 < int(throttled.headers["retry-after"]) <= 60
    assert login(app, office, username, CASEWORKER_PASSWORD).status_code == 303


def test_the_wait_is_shown_in_whole_minutes():
    from bot.caseworker.labels import throttled_label

    assert throttled_label(timedelta(seconds=59)) == "For mange forkerte forsøg. Vent 1 minut, og prøv igen."
    assert throttled_label(timedelta(minutes=3, seconds=1)).endswith("Vent 4 minutter, og prøv igen.")
