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
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from bench.chat import free_port
from bot.taxonomy import Municipality

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
_TMP = Path(tempfile.mkdtemp(prefix="jobcenter-tests-"))


os.environ.update(
    {
        "DATABASE_URL": f"sqlite:///{_TMP / 'app.db'}",
        "TRACKER_DATABASE_URL": f"sqlite:///{_TMP / 'rasa_tracker.db'}",
        "VAR_DIR": str(_TMP),
        "RASA_TOKEN": secrets.token_hex(24),
        "ACTIONS_TOKEN": secrets.token_hex(24),
        "WEB_PORT": str(free_port()),
        "RASA_PORT": str(free_port()),
        "ACTIONS_PORT": str(free_port()),
        "OPENING_HOURS": json.dumps(dict.fromkeys((m.value for m in Municipality), "man-søn 00:00-24:00")),
        "LOG_LEVEL": "INFO",
    }
)
os.environ.pop("LOCK_STORE_URL", None)

from bot.model import RASA_PYTHON, RASA_QUIET_ENV, model_path  # noqa: E402  (settings must be in the environment first)
from bot.settings import get_settings  # noqa: E402
from bot.stack import Stack, new_token  # noqa: E402
from bot.storage.migrate import migrate  # noqa: E402


def run_in_rasa(code: str) -> dict:
    """Run Python code in Rasa's environment (with our package on the path);
    the JSON object its last line of output prints."""
    done = subprocess.run(
        [str(RASA_PYTHON), "-c", code],
        cwd=ROOT,
        env={**RASA_QUIET_ENV, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result: dict = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="session", autouse=True)
def _fresh_logs() -> None:
    """Every stack of this run logs under test-artifacts/logs; start it empty."""
    for old in (ARTIFACTS / "logs").rglob("*.log"):
        old.unlink()


@pytest.fixture(scope="session")
def settings():
    return get_settings()


@pytest.fixture(scope="session")
def migrated(settings) -> str:
    migrate(settings.database_url)
    return settings.database_url


@pytest.fixture(scope="session")
def stack(settings, migrated, _fresh_logs) -> Iterator[Stack]:
    model = model_path()
    if not model.exists():
        pytest.fail(f"No trained model at {model}: run `make model` (make test does it first).")
    running = Stack(settings, model, log_dir=ARTIFACTS / "logs")
    running.start()
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def own_stack(settings, migrated, tmp_path_factory) -> Iterator[Stack]:
    """A second, supervised stack on its own ports, databases and copy of the
    knowledge base, for tests that kill its processes (tests/test_faults.py)
    or edit its knowledge (tests/test_insights_flow.py). Its Rasa token
    begins with "-", which Rasa's argument parser used to reject."""
    folder = tmp_path_factory.mktemp("own")
    shutil.copytree(settings.knowledge_dir, folder / "knowledge")
    own = settings.model_copy(
        update={
            "web_port": free_port(),
            "rasa_port": free_port(),
            "actions_port": free_port(),
            "database_url": f"sqlite:///{folder / 'app.db'}",
            "tracker_database_url": f"sqlite:///{folder / 'tracker.db'}",
            "var_dir": folder,
            "knowledge_dir": folder / "knowledge",
            "rasa_token": SecretStr("-" + secrets.token_hex(16)),
            "actions_token": new_token(),
        }
    )
    running = Stack(own, model_path(), log_dir=ARTIFACTS / "logs" / "own")
    running.start()
    try:
        running.wait_ready()
        running.start_supervisor()
        yield running
    finally:
        running.stop()


@pytest.fixture
def web(stack):
    import httpx

    with httpx.Client(base_url=stack.web_url, timeout=60) as client:
        yield client


#: Every conversation id and username the tests made, so the last test can
#: check that none of them reached a log (tests/test_log_privacy.py).
SENDERS: list[str] = []
USERNAMES: list[str] = []


def new_sender() -> str:
    """A conversation id as a client makes one: 128 random bits (at least 22 characters)."""
    sender = f"test-{secrets.token_urlsafe(16)}"
    SENDERS.append(sender)
    return sender


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `last` run after all others (they read what the others
    left). A test on the running stack is `integration` whether or not its
    module says so: `make test` runs the others while the model trains."""
    for item in items:
        if "stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)


#: The password of every caseworker the tests create.
CASEWORKER_PASSWORD = "en-lang-og-god-adgangskode"


def add_caseworker(
    municipality: Municipality, team, display_name: str, database_url: str | None = None, role=None
) -> str:
    """Create a caseworker (or, with `role`, a curator or an admin) in the
    test database (or the one at `database_url`); return the (unique) username."""
    from sqlalchemy.orm import Session

    from bot.caseworker.auth import create_caseworker
    from bot.storage.db import get_engine, make_engine
    from bot.storage.models import Role

    username = f"{municipality.value}-{team.value if team else 'redaktion'}-{secrets.token_hex(4)}"
    USERNAMES.append(username)
    engine = make_engine(database_url) if database_url else get_engine()
    with Session(engine) as session, session.begin():
        create_caseworker(
            session,
            username=username,
            display_name=display_name,
            password=CASEWORKER_PASSWORD,
            municipality=municipality,
            team=team,
            role=role or Role.CASEWORKER,
        )
    if database_url:
        engine.dispose()
    return username
