"""Push without polling: an open SSE stream (GET /api/chat/{sender}/events)
hears of a change instead of reading the database every half second
(bot/storage/changes.py, bot/api/streams.py).

- SQLite (the default), through the running stack: the case the action
  server opens, the queue position of the citizen behind, a claim, a
  caseworker's reply and the close reach open streams; Last-Event-ID resumes.
- A front door in this process, whose database engine the test watches:
  an idle open stream makes no query, and a stream that ends frees its waiter.
- PostgreSQL (TEST_DATABASE_URL): two front-door processes on one private
  database; a stream held by one gets what a caseworker writes through the
  other, also after their LISTEN connections were killed.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.orm import Session

from bot.api.main import create_app
from bot.handoff import service
from bot.settings import Settings
from bot.stack import Child, migrate, web_command
from bot.storage.changes import CHANNEL, LISTENER_NAME
from bot.storage.db import get_engine, make_engine, session_scope
from bot.storage.models import CaseStatus, HandoffCase, Team
from bot.taxonomy import Author, Channel, HandoffReason, Municipality
from tests.conftest import ARTIFACTS, add_caseworker, free_port, new_sender
from tests.test_handoff_flow import Caseworker, Citizen

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
#: Seconds to wait for an event before the test gives up (a guard, not a speed target).
PATIENCE = 30.0


@dataclass(frozen=True)
class Event:
    name: str
    data: Any
    id: int | None


class EventStream:
    """An open SSE stream, read on its own thread like a browser's EventSource."""

    def __init__(self, base_url: str, sender: str, last_event_id: int | None = None) -> None:
        headers = {"Last-Event-ID": str(last_event_id)} if last_event_id is not None else {}
        self._client = httpx.Client(base_url=base_url, timeout=httpx.Timeout(10, read=None))
        request = self._client.build_request("GET", f"/api/chat/{sender}/events", headers=headers)
        self._response = self._client.send(request, stream=True)
        assert self._response.status_code == 200, self._response.status_code
        self._events: queue.Queue[Event] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        fields: dict[str, str] = {}
        try:
            for line in self._response.iter_lines():
                if line.startswith(":"):
                    continue
                if line:
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")
                elif "data" in fields:
                    event_id = int(fields["id"]) if "id" in fields else None
                    self._events.put(Event(fields.get("event", "message"), json.loads(fields["data"]), event_id))
                    fields = {}
        except (httpx.HTTPError, RuntimeError, ValueError):
            return  # closed by the test

    def next(self, name: str, matches: Callable[[Any], bool] = lambda _: True) -> Event:
        """The next event of this name whose data matches (earlier ones are skipped)."""
        deadline = time.monotonic() + PATIENCE
        while (left := deadline - time.monotonic()) > 0:
            try:
                found = self._events.get(timeout=left)
            except queue.Empty:
                break
            if found.name == name and matches(found.data):
                return found
        raise AssertionError(f"no matching {name!r} event on the stream")

    def pending(self) -> list[Event]:
        """The events received and not yet taken."""
        found = []
        while not self._events.empty():
            found.append(self._events.get_nowait())
        return found

    def close(self) -> None:
        """Hang up as a browser does (a close alone would wait for the reading thread)."""
        self._response.extensions["network_stream"].get_extra_info("socket").shutdown(socket.SHUT_RDWR)
        self._response.close()
        self._client.close()


@contextmanager
def open_stream(base_url: str, sender: str, last_event_id: int | None = None) -> Iterator[EventStream]:
    stream = EventStream(base_url, sender, last_event_id)
    try:
        yield stream
    finally:
        stream.close()


def wait_until(predicate: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def waiting(handoff: Any) -> bool:
    return bool(handoff) and handoff["status"] == "waiting"


def claimed(handoff: Any) -> bool:
    return bool(handoff) and handoff["status"] == "claimed"


# -- SQLite, through the running stack ----------------------------------------------------


def ask_for_live_chat(citizen: Citizen) -> None:
    citizen.say("Jeg vil gerne tale med en medarbejder")
    citizen.say("Chat med en medarbejder nu")
    citizen.say("Jeg har spørgsmål om løntilskud")


def case_of(sender: str) -> HandoffCase:
    with session_scope() as session:
        case = session.scalars(select(HandoffCase).where(HandoffCase.sender == sender)).one()
        assert (case.channel, case.status) == (Channel.CHAT, CaseStatus.WAITING)
        return case


@pytest.mark.integration
def test_handoff_changes_reach_open_streams_and_resume_after_last_event_id(web, stack):
    anne = Caseworker(stack, add_caseworker(Municipality.RUDERSDAL, Team.BORGER, "Anne Dahl"))
    first, second = Citizen(web, "rudersdal"), Citizen(web, "rudersdal")
    with (
        open_stream(stack.web_url, first.sender) as first_stream,
        open_stream(stack.web_url, second.sender) as second_stream,
    ):
        assert first_stream.next("handoff").data is None
        ask_for_live_chat(first)  # the action server opens the case
        first_place = first_stream.next("handoff", waiting).data["position"]
        ask_for_live_chat(second)
        second_place = second_stream.next("handoff", waiting).data["position"]
        assert second_place == first_place + 1

        case = case_of(first.sender)
        assert anne.post(f"/caseworker/cases/{case.id}/claim").status_code == 303
        notice = first_stream.next("message")  # one read: the messages, then the state
        assert first_stream.next("handoff", claimed).data["caseworker"]["first_name"] == "Anne"
        moved_up = second_stream.next("handoff", lambda h: waiting(h) and h["position"] != second_place)
        assert moved_up.data["position"] == second_place - 1

        assert anne.post(f"/caseworker/cases/{case.id}/reply", text="Hej, det er Anne.").status_code == 303
        reply = first_stream.next("message", lambda m: m["text"].startswith("Hej, det er Anne"))
        assert reply.id is not None and notice.id is not None and reply.id > notice.id

    # A browser that lost its connection comes back with the last id it had.
    with open_stream(stack.web_url, first.sender, last_event_id=notice.id) as resumed:
        assert resumed.next("message").data["text"].startswith("Hej, det er Anne")
        assert claimed(resumed.next("handoff").data)
        assert anne.post(f"/caseworker/cases/{case.id}/close", outcome="Besvaret").status_code == 303
        assert "assistenten igen" in resumed.next("message").data["text"]
        assert resumed.next("handoff").data is None


# -- a front door in this process ------------------------------------------------------------


@pytest.fixture(scope="module")
def in_process(migrated) -> Iterator[tuple[str, FastAPI]]:
    """The real front door app, served over HTTP from a thread of this process."""
    app, port = create_app(), free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started)
    yield f"http://127.0.0.1:{port}", app
    server.should_exit = True
    thread.join(PATIENCE)


@contextmanager
def outbox_reads() -> Iterator[list[str]]:
    """The SELECTs on the outbox this process's engine runs meanwhile."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "outbox_messages" in statement:
            seen.append(statement)

    event.listen(get_engine(), "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(get_engine(), "before_cursor_execute", count)


def test_an_idle_stream_makes_no_query_and_a_closed_one_frees_its_waiter(in_process):
    base_url, app = in_process
    senders = [new_sender() for _ in range(5)]
    streams = [EventStream(base_url, sender) for sender in senders]
    try:
        for stream in streams:
            assert stream.next("handoff").data is None  # the read on connect
        with outbox_reads() as reads:
            time.sleep(3)  # the old stream polled twice a second
            assert reads == [], f"{len(reads)} reads by idle streams"
            with session_scope() as session:
                service.post_to_citizen(session, senders[0], {"text": "Et svar fra en medarbejder."})
            assert streams[0].next("message").data["text"] == "Et svar fra en medarbejder."
            assert len(reads) == 1  # only the stream it was for read again
        assert all(not stream.pending() for stream in streams[1:])
    finally:
        for stream in streams:
            stream.close()
    wait_until(lambda: app.state.services.streams.waiting() == 0)


# -- PostgreSQL: two front-door processes -------------------------------------------------


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database for this module, dropped afterwards."""
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    name = f"jobcenter_push_{secrets.token_hex(4)}"
    admin = create_engine(make_engine(TEST_DATABASE_URL).url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_engine(TEST_DATABASE_URL).url.set(database=name).render_as_string(hide_password=False)
    migrate(url)
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@dataclass(frozen=True)
class FrontDoor:
    web_url: str
    settings: Settings


@pytest.fixture(scope="module")
def front_doors(settings, postgres_url) -> Iterator[list[FrontDoor]]:
    """Two front-door processes (what several workers are) on one database.
    No Rasa answers them: the caseworker app and the streams need none."""
    doors, children = [], []
    for number in (1, 2):
        own = settings.model_copy(
            update={"database_url": postgres_url, "web_port": free_port(), "rasa_port": free_port()}
        )
        child = Child(f"web-{number}", web_command(own), ARTIFACTS / "logs" / "push")
        child.spawn()
        children.append(child)
        doors.append(FrontDoor(f"http://{own.web_host}:{own.web_port}", own))
    try:
        for child in children:
            wait_until(child.answers)
        wait_until(lambda: len(listeners(postgres_url)) == 2)
        yield doors
    finally:
        for child in children:
            child.stop()


def listeners(database_url: str) -> set[int]:
    """Backend pids of the front doors' LISTEN connections that listen."""
    engine = make_engine(database_url)
    query = text(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        " AND application_name = :name AND query = :listen"
    )
    with engine.connect() as connection:
        pids = set(connection.scalars(query, {"name": LISTENER_NAME, "listen": f"LISTEN {CHANNEL}"}))
    engine.dispose()
    return pids


def waiting_live_chat(database_url: str, municipality: Municipality) -> tuple[str, int]:
    """A citizen waiting in the live-chat queue (as the action server opens it)."""
    sender = new_sender()
    new = service.NewCase(
        sender=sender,
        municipality=municipality,
        team=Team.BORGER,
        channel=Channel.CHAT,
        reason=HandoffReason.REQUEST_HUMAN,
        topic=None,
        article_ids=[],
        transcript=[(Author.CITIZEN, "Jeg vil gerne tale med en medarbejder")],
        description="Spørgsmål om løntilskud",
    )
    engine = make_engine(database_url)
    with Session(engine) as session, session.begin():
        case_id = service.create_case(session, new).id
    engine.dispose()
    return sender, case_id


@pytest.mark.postgres
def test_a_stream_on_one_front_door_gets_what_a_caseworker_writes_through_another(front_doors, postgres_url):
    holder, writer = front_doors
    sender, case_id = waiting_live_chat(postgres_url, Municipality.BALLERUP)
    username = add_caseworker(Municipality.BALLERUP, Team.BORGER, "Bent Berg", postgres_url)
    bent = Caseworker(writer, username)
    with open_stream(holder.web_url, sender) as stream:
        assert waiting(stream.next("handoff").data)
        assert bent.post(f"/caseworker/cases/{case_id}/claim").status_code == 303
        assert stream.next("handoff", claimed).data["caseworker"]["first_name"] == "Bent"
        assert bent.post(f"/caseworker/cases/{case_id}/reply", text="Hej, det er Bent.").status_code == 303
        assert stream.next("message", lambda m: m["text"].startswith("Hej, det er Bent"))


@pytest.mark.postgres
def test_streams_still_get_messages_after_the_listen_connections_are_killed(front_doors, postgres_url):
    holder, writer = front_doors
    sender, case_id = waiting_live_chat(postgres_url, Municipality.GLADSAXE)
    bent = Caseworker(writer, add_caseworker(Municipality.GLADSAXE, Team.BORGER, "Bent Berg", postgres_url))
    assert bent.post(f"/caseworker/cases/{case_id}/claim").status_code == 303
    with open_stream(holder.web_url, sender) as stream:
        assert claimed(stream.next("handoff").data)
        before = listeners(postgres_url)
        kill_backends(postgres_url, before)
        # Written while no one may listen: the re-read on reconnect brings it.
        assert bent.post(f"/caseworker/cases/{case_id}/reply", text="Første svar").status_code == 303
        wait_until(lambda: len(listeners(postgres_url) - before) == 2)
        assert bent.post(f"/caseworker/cases/{case_id}/reply", text="Andet svar").status_code == 303
        assert stream.next("message", lambda m: m["text"].startswith("Første svar"))
        assert stream.next("message", lambda m: m["text"].startswith("Andet svar"))


def kill_backends(database_url: str, pids: set[int]) -> None:
    engine = make_engine(database_url)
    with engine.connect() as connection:
        for pid in pids:
            assert connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    engine.dispose()
