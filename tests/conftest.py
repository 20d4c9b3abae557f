"""Shared fixtures: a private database, and the three real processes.

The settings for the whole test run are set here, before any bot module
reads them: databases in a temporary folder, live chat open around the
clock, a random Rasa token. The `stack` fixture starts the action server,
Rasa (with the trained model from `make model`) and the web app on free
ports once per session, exactly as `make run` does.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.taxonomy import Municipality

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
_TMP = Path(tempfile.mkdtemp(prefix="jobcenter-tests-"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


os.environ.update(
    {
        "DATABASE_URL": f"sqlite:///{_TMP / 'app.db'}",
        "TRACKER_DATABASE_URL": f"sqlite:///{_TMP / 'rasa_tracker.db'}",
        "VAR_DIR": str(_TMP),
        "RASA_TOKEN": secrets.token_urlsafe(16),
        "WEB_PORT": str(_free_port()),
        "RASA_PORT": str(_free_port()),
        "ACTIONS_PORT": str(_free_port()),
        "OPENING_HOURS": json.dumps(dict.fromkeys((m.value for m in Municipality), "man-søn 00:00-24:00")),
        "LOG_LEVEL": "INFO",
    }
)
os.environ.pop("LOCK_STORE_URL", None)

from bot.model import model_path  # noqa: E402  (settings must be in the environment first)
from bot.settings import get_settings  # noqa: E402
from bot.stack import Stack, migrate  # noqa: E402


@pytest.fixture(scope="session")
def settings():
    return get_settings()


@pytest.fixture(scope="session")
def migrated(settings) -> str:
    migrate(settings.database_url)
    return settings.database_url


@pytest.fixture(scope="session")
def stack(settings, migrated) -> Iterator[Stack]:
    model = model_path()
    if not model.exists():
        pytest.fail(f"No trained model at {model}: run `make model` (make test does it first).")
    log_dir = ARTIFACTS / "logs"
    for old in log_dir.glob("*.log"):
        old.unlink()
    running = Stack(settings, model, log_dir=log_dir)
    running.start()
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


@pytest.fixture
def web(stack):
    import httpx

    with httpx.Client(base_url=stack.web_url, timeout=60) as client:
        yield client


def new_sender() -> str:
    return f"test-{secrets.token_hex(8)}"


#: The password of every caseworker the tests create.
CASEWORKER_PASSWORD = "en-lang-og-god-adgangskode"


def add_caseworker(municipality: Municipality, team, display_name: str) -> str:
    """Create a caseworker in the test database; return the (unique) username."""
    from bot.caseworker.auth import create_caseworker
    from bot.storage.db import session_scope

    username = f"{municipality.value}-{team.value}-{secrets.token_hex(4)}"
    with session_scope() as session:
        create_caseworker(
            session,
            username=username,
            display_name=display_name,
            password=CASEWORKER_PASSWORD,
            municipality=municipality,
            team=team,
        )
    return username
