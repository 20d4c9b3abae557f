"""The fault suite, on the second, supervised stack (own_stack in
tests/conftest.py): the tests really kill its processes (SIGKILL), stop
them (SIGSTOP) and lock its database.

Each test checks what the citizen and the caseworker get while a part is
down, that the stack recovers by itself, and that no case, callback or
caseworker line is lost. Times (from the fault until a citizen gets an
answer again) are recorded in test-artifacts/faults.json for the closing
note, not asserted: speed belongs in benchmarks.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bot.api.monitor import MISSES_BEFORE_DOWN
from bot.model import model_path
from bot.stack import Stack
from bot.storage.db import make_engine
from bot.storage.models import CaseMessage, CaseStatus, HandoffCase, RasaEvent, Team
from bot.taxonomy import Municipality
from tests.conftest import ARTIFACTS, add_caseworker, free_port, new_sender
from tests.test_handoff_flow import Caseworker, kind, texts

pytestmark = pytest.mark.integration
TIMINGS = ARTIFACTS / "faults.json"
GLADSAXE_PHONE = "39 57 66 20"  # Gladsaxe's contact route, from the knowledge base


def record(name: str, seconds: float) -> None:
    """Keep a measured time for the closing note (test-artifacts/faults.json)."""
    timings = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    timings[name] = round(seconds, 2)
    TIMINGS.parent.mkdir(parents=True, exist_ok=True)
    TIMINGS.write_text(json.dumps(timings, indent=2, sort_keys=True))


def wait_until(predicate: Callable[[], object], timeout: float = 240.0, every: float = 0.25) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("the stack did not recover in time")


class Citizen:
    def __init__(self, stack: Stack, municipality: str = "gladsaxe") -> None:
        self.web = httpx.Client(base_url=stack.web_url, timeout=60)
        self.sender = new_sender()
        self.metadata = {"municipality": municipality}

    def send(self, message: str) -> httpx.Response:
        body = {"sender": self.sender, "message": message, "metadata": self.metadata}
        return self.web.post("/api/chat", json=body)

    def say(self, message: str) -> list[dict]:
        response = self.send(message)
        assert response.status_code == 200, response.text
        return response.json()

    def answered(self, message: str) -> bool:
        """True once a question gets a real answer (not a 503, not an empty turn)."""
        response = self.send(message)
        return response.status_code == 200 and kind(response.json()) == "answer"

    def inbox(self) -> dict:
        return self.web.get(f"/api/chat/{self.sender}/messages").json()


@pytest.fixture(scope="module")
def database(own_stack) -> Iterator[Engine]:
    engine = make_engine(own_stack.settings.database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def anne(own_stack) -> Caseworker:
    username = add_caseworker(Municipality.GLADSAXE, Team.BORGER, "Anne Hansen", own_stack.settings.database_url)
    return Caseworker(own_stack, username)


def cases_of(engine: Engine, sender: str) -> list[HandoffCase]:
    with Session(engine) as session:
        return list(session.scalars(select(HandoffCase).where(HandoffCase.sender == sender)))


def thread_of(engine: Engine, case_id: int) -> list[str]:
    with Session(engine) as session:
        return list(session.scalars(select(CaseMessage.text).where(CaseMessage.case_id == case_id)))


def queued(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(RasaEvent)) or 0)


def tracker(stack: Stack, sender: str) -> dict:
    token = stack.settings.rasa_token.get_secret_value()
    url = f"{stack.settings.rasa_url}/conversations/{sender}/tracker"
    return httpx.get(url, params={"token": token, "include_events": "ALL"}, timeout=10).json()


def pid(stack: Stack, part: str) -> int:
    return stack.processes[part].pid


def live_chat(citizen: Citizen, anne: Caseworker, database: Engine) -> HandoffCase:
    """The citizen asks for a live chat and Anne claims it."""
    citizen.say("Jeg vil gerne tale med en medarbejder")
    citizen.say("Chat med en medarbejder nu")
    citizen.say("Jeg har spørgsmål om min aktivering")
    (case,) = cases_of(database, citizen.sender)
    assert anne.post(f"/caseworker/cases/{case.id}/claim").status_code == 303
    wait_until(lambda: queued(database) == 0)  # Rasa has the pause
    return case


def test_rasa_started_with_a_token_that_begins_with_a_dash(own_stack):
    assert own_stack.settings.rasa_token.get_secret_value().startswith("-")
    assert Citizen(own_stack).answered("Hvad er et fleksjob?")


def test_no_token_in_any_process_list(own_stack):
    tokens = [own_stack.settings.rasa_token.get_secret_value(), own_stack.settings.actions_token.get_secret_value()]
    for process in own_stack.processes.values():
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes().decode(errors="replace")
        assert not any(token in cmdline for token in tokens)


def test_killed_action_server_is_restarted_and_the_citizen_meanwhile_gets_the_contact_route(own_stack):
    citizen = Citizen(own_stack)
    others = pid(own_stack, "web"), pid(own_stack, "rasa")
    os.kill(pid(own_stack, "actions"), signal.SIGKILL)
    killed = time.monotonic()
    down = citizen.send("Hvad er et fleksjob?")
    if down.status_code != 200:  # unless the action server was back already
        assert down.status_code == 503
        assert "kan ikke svare lige nu" in down.json()["detail"] and GLADSAXE_PHONE in down.json()["detail"]
    wait_until(lambda: citizen.answered("Hvad er løntilskud?"))
    record("actions_sigkill_recovery_s", time.monotonic() - killed)
    assert (pid(own_stack, "web"), pid(own_stack, "rasa")) == others


def test_killed_rasa_does_not_end_a_live_chat_and_no_conversation_stays_paused(own_stack, anne, database):
    citizen = Citizen(own_stack)
    case = live_chat(citizen, anne, database)
    web_pid = pid(own_stack, "web")
    os.kill(pid(own_stack, "rasa"), signal.SIGKILL)
    killed = time.monotonic()

    # The caseworker and the citizen go on talking while Rasa is down.
    assert anne.post(f"/caseworker/cases/{case.id}/reply", text="Hej, det er Anne.").status_code == 303
    assert "det er Anne" in json.dumps(citizen.inbox(), ensure_ascii=False)
    assert citizen.say("Tak, jeg har et spørgsmål mere")[-1]["custom"]["delivered"] is True
    assert anne.post(f"/caseworker/cases/{case.id}/close", outcome="Besvaret").status_code == 303
    health = citizen.web.get("/health")
    if health.status_code == 503:
        assert health.json()["status"] == "degraded" and health.json()["rasa"] != "ok"

    # Rasa comes back by itself; the queued resume reaches it before the next
    # question, so the citizen is answered by the bot again.
    wait_until(lambda: citizen.answered("Hvad er et fleksjob?"))
    record("rasa_sigkill_recovery_s", time.monotonic() - killed)
    assert pid(own_stack, "web") == web_pid
    assert queued(database) == 0
    events = tracker(own_stack, citizen.sender)
    assert events["paused"] is False
    logged = " ".join(e.get("text") or "" for e in events["events"] if e["event"] in ("user", "bot"))
    assert "det er Anne" in logged and "et spørgsmål mere" in logged
    thread = " ".join(thread_of(database, case.id))
    assert "det er Anne" in thread and "et spørgsmål mere" in thread


def test_stopped_action_server_gives_the_contact_route_at_once_and_recovers(own_stack):
    citizen = Citizen(own_stack)
    actions = own_stack.processes["actions"]
    actions.send_signal(signal.SIGSTOP)
    try:
        for _ in range(MISSES_BEFORE_DOWN):  # stopped, not busy: it misses checks in a row
            wait_until(lambda: citizen.web.get("/health").json()["actions"] != "ok")
        started = time.monotonic()
        down = citizen.send("Hvad er et fleksjob?")
        record("actions_sigstop_503_s", time.monotonic() - started)
        assert down.status_code == 503 and GLADSAXE_PHONE in down.json()["detail"]
    finally:
        actions.send_signal(signal.SIGCONT)
    stopped = time.monotonic()
    wait_until(lambda: citizen.answered("Hvad er et fleksjob?"))
    record("actions_sigstop_recovery_s", time.monotonic() - stopped)


def test_stopped_rasa_does_not_hold_up_the_caseworker_or_health(own_stack, anne, database):
    citizen = Citizen(own_stack)
    case = live_chat(citizen, anne, database)
    rasa = own_stack.processes["rasa"]
    rasa.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        assert anne.post(f"/caseworker/cases/{case.id}/reply", text="Jeg er her stadig").status_code == 303
        record("caseworker_reply_rasa_sigstop_s", time.monotonic() - started)
        started = time.monotonic()
        health = citizen.web.get("/health")
        record("health_rasa_sigstop_s", time.monotonic() - started)
        assert health.status_code == 503 and health.json()["rasa"] == "unavailable"
        assert anne.post(f"/caseworker/cases/{case.id}/close", outcome="Afsluttet").status_code == 303
    finally:
        rasa.send_signal(signal.SIGCONT)
    wait_until(lambda: citizen.answered("Hvad er virksomhedspraktik?"))
    assert tracker(own_stack, citizen.sender)["paused"] is False
    assert "Jeg er her stadig" in thread_of(database, case.id)


@contextmanager
def locked(database_path: str) -> Iterator[None]:
    """Hold SQLite's write lock, as a long transaction elsewhere would."""
    connection = sqlite3.connect(database_path, timeout=30)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        yield
    finally:
        connection.rollback()
        connection.close()


def test_a_locked_database_keeps_the_callback_request_and_does_not_freeze_the_bot(own_stack, database):
    citizen = Citizen(own_stack)
    wait_until(lambda: citizen.web.get("/health").status_code == 200)  # Rasa is back from the test before
    citizen.say("Kan I ringe mig op?")
    citizen.say("Ring eller skriv til mig")
    citizen.say("Kim")
    citizen.say("12 34 56 78")
    other = Citizen(own_stack, "rodovre")
    with locked(own_stack.settings.database_url.removeprefix("sqlite:///")):
        refused = citizen.say("Jeg vil gerne høre om fleksjob")
        assert "kunne ikke sende" in texts(refused)
        retry = next(b for m in refused for b in m.get("buttons") or [] if b["title"] == "Prøv igen")
        started = time.monotonic()
        assert other.answered("Hvad er løntilskud?")  # other conversations are not frozen
        record("unrelated_turn_while_db_locked_s", time.monotonic() - started)
        assert cases_of(database, citizen.sender) == []
    confirmed = citizen.say(retry["payload"])
    assert "12 34 56 78" in texts(confirmed)
    (case,) = cases_of(database, citizen.sender)
    assert (case.contact_name, case.contact_phone, case.status) == ("Kim", "12 34 56 78", CaseStatus.WAITING)
    assert "fleksjob" in (case.description or "")


def _pg_cluster() -> list[str] | None:
    """pg_ctlcluster's version and cluster name on this machine, if we may use it."""
    versions = sorted(Path("/etc/postgresql").glob("*/main")) if Path("/etc/postgresql").exists() else []
    if not versions or os.geteuid() != 0 or not os.environ.get("TEST_DATABASE_URL"):
        return None
    return [versions[-1].parent.name, "main"]


@pytest.mark.postgres
def test_a_stopped_postgresql_loses_no_callback_request(settings, tmp_path_factory):
    cluster = _pg_cluster()
    if cluster is None:
        pytest.skip("needs TEST_DATABASE_URL and root to stop the local PostgreSQL")
    from tests.test_production_settings import fresh_database

    with fresh_database() as app_url:
        folder = tmp_path_factory.mktemp("pg-faults")
        own = settings.model_copy(
            update={
                "web_port": free_port(),
                "rasa_port": free_port(),
                "actions_port": free_port(),
                "database_url": app_url,
                "tracker_database_url": f"sqlite:///{folder / 'tracker.db'}",
                "var_dir": folder,
            }
        )
        stack = Stack(own, model_path(), log_dir=ARTIFACTS / "logs" / "pg-faults")
        stack.start()
        try:
            stack.wait_ready()
            stack.start_supervisor()
            _callback_survives_a_stopped_postgresql(stack, cluster)
        finally:
            stack.stop()


def _pg_ctl(cluster: list[str], action: str) -> None:
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, action], check=True)


def _callback_survives_a_stopped_postgresql(stack: Stack, cluster: list[str]) -> None:
    citizen = Citizen(stack)
    citizen.say("Kan I ringe mig op?")
    citizen.say("Ring eller skriv til mig")
    citizen.say("spring over")
    citizen.say("kim@example.org")
    _pg_ctl(cluster, "stop")
    try:
        refused = citizen.send("Jeg vil gerne høre om løntilskud")
        if refused.status_code == 200:
            assert "kunne ikke sende" in texts(refused.json())
        else:  # the front door could not read the case state
            assert refused.status_code == 503 and GLADSAXE_PHONE in refused.json()["detail"]
        health = citizen.web.get("/health")
        assert health.status_code == 503 and health.json()["db"] == "unavailable"
    finally:
        _pg_ctl(cluster, "start")
    wait_until(lambda: citizen.web.get("/health").status_code == 200)
    citizen.say("/retry_handoff" if refused.status_code == 200 else "Jeg vil gerne høre om løntilskud")
    engine = make_engine(stack.settings.database_url)
    try:
        (case,) = cases_of(engine, citizen.sender)
    finally:
        engine.dispose()
    assert case.contact_email == "kim@example.org"
