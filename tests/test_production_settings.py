"""Production settings: PostgreSQL for both databases, Redis lock store, and two
Rasa instances serving the same conversation. Runs when TEST_DATABASE_URL and
TEST_REDIS_URL are set (.ci/run sets them)."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bot.api.rasa_client import TOKEN_HEADER, WEBHOOK
from bot.model import model_path
from bot.stack import Stack
from bot.storage.db import make_engine
from tests.conftest import ARTIFACTS, free_port

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.redis]

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new, empty PostgreSQL database on TEST_DATABASE_URL's server; its URL."""
    assert TEST_DATABASE_URL
    base = make_engine(TEST_DATABASE_URL).url
    name = f"jobcenter_{secrets.token_hex(6)}"
    # A fresh connection each time: a test may restart the server in between.
    admin = create_engine(base, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def databases() -> Iterator[tuple[str, str]]:
    """Two fresh PostgreSQL databases: ours and Rasa's tracker store."""
    if not (TEST_DATABASE_URL and TEST_REDIS_URL):
        pytest.skip("TEST_DATABASE_URL and TEST_REDIS_URL are not both set")
    with fresh_database() as app, fresh_database() as tracker:
        yield app, tracker


@pytest.fixture(scope="module")
def production_stack(settings, databases) -> Iterator[tuple[Stack, int]]:
    app_url, tracker_url = databases
    production = settings.model_copy(
        update={
            "web_port": free_port(),
            "rasa_port": free_port(),
            "actions_port": free_port(),
            "rasa_token": SecretStr(secrets.token_hex(16)),
            "database_url": app_url,
            "tracker_database_url": tracker_url,
            "lock_store_url": TEST_REDIS_URL,
        }
    )
    stack = Stack(production, model_path(), log_dir=ARTIFACTS / "logs" / "production")
    second_port = free_port()
    stack.start()
    stack.start_rasa(port=second_port, name="rasa2")
    try:
        stack.wait_ready()
        yield stack, second_port
    finally:
        stack.stop()


def _wait_for_second_rasa(stack: Stack, port: int) -> None:
    token = stack.settings.rasa_token.get_secret_value()
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/status", params={"token": token}, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise AssertionError("the second Rasa instance did not start")


def test_two_rasa_instances_share_one_conversation(production_stack):
    stack, second_port = production_stack
    _wait_for_second_rasa(stack, second_port)
    sender = f"prod-{secrets.token_urlsafe(16)}"
    with httpx.Client(base_url=stack.web_url, timeout=60) as web:
        first = web.post(
            "/api/chat",
            json={"sender": sender, "message": "Hvad er et fleksjob?", "metadata": {"municipality": "rodovre"}},
        ).json()
    assert any(m.get("custom", {}).get("kind") == "answer" for m in first)

    # The next turn goes to the other instance, without metadata: the
    # municipality must come from the shared PostgreSQL tracker store.
    second = httpx.post(
        f"http://127.0.0.1:{second_port}{WEBHOOK}",
        json={"sender": sender, "message": "Hvordan fungerer løntilskud?"},
        headers={TOKEN_HEADER: stack.settings.rasa_token.get_secret_value()},
        timeout=60,
    ).json()
    answer = next(m["custom"] for m in second if m.get("custom", {}).get("kind") == "answer")
    assert answer["municipality"] == "rodovre"

    tracker_engine = create_engine(make_engine(stack.settings.tracker_database_url).url)
    with tracker_engine.connect() as connection:
        turns = connection.execute(
            text("SELECT COUNT(*) FROM events WHERE sender_id = :s AND type_name = 'user'"), {"s": sender}
        ).scalar()
    tracker_engine.dispose()
    assert turns == 2


def test_health_and_our_database_on_postgresql(production_stack):
    stack, _ = production_stack
    health = httpx.get(f"{stack.web_url}/health", timeout=30).json()
    assert health["status"] == "ok" and health["db"] == "ok"
