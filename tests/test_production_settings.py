"""Production settings: PostgreSQL for both databases, Redis lock store, two
Rasa instances (RASA_INSTANCES=2) and two front-door workers (WEB_WORKERS=2),
one stack for the module. Runs when TEST_DATABASE_URL and TEST_REDIS_URL are
set (.ci/run sets them). The last test kills one Rasa instance in the middle
of fifty conversations."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import pytest
from pydantic import SecretStr
from redis import Redis
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from bench.chat import free_ports
from bot.api.rasa_client import TOKEN_HEADER, WEBHOOK
from bot.api.routes.chat import UNAVAILABLE
from bot.handoff import rasa_queue
from bot.model import RASA_PYTHON, model_path
from bot.settings import ROOT
from bot.stack import Stack
from bot.storage.db import make_engine
from bot.storage.migrate import migrate
from bot.storage.models import Channel, HandoffCase
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
def production_stack(settings, databases) -> Iterator[Stack]:
    """Two Rasa instances and two front-door workers on PostgreSQL and Redis."""
    app_url, tracker_url = databases
    production = settings.model_copy(
        update={
            "web_port": free_port(),
            "rasa_port": free_ports(2),
            "rasa_instances": 2,
            "web_workers": 2,
            "actions_port": free_port(),
            "rasa_token": SecretStr(secrets.token_hex(16)),
            "database_url": app_url,
            "tracker_database_url": tracker_url,
            "lock_store_url": TEST_REDIS_URL,
            # Fifty conversations at once on two cores take a turn up to
            # about 8 s: no 503 for a slow turn, only for the killed instance.
            "rasa_timeout": 30.0,
        }
    )
    stack = Stack(production, model_path(), log_dir=ARTIFACTS / "logs" / "production")
    stack.start()
    try:
        stack.wait_ready()  # /health is ok only once both instances have their model
        yield stack
    finally:
        stack.stop()


def test_two_rasa_instances_share_one_conversation(production_stack):
    stack = production_stack
    sender = f"prod-{secrets.token_urlsafe(16)}"
    first_turn = {"sender": sender, "message": "Hvad er et fleksjob?", "metadata": {"municipality": "rodovre"}}
    token = {TOKEN_HEADER: stack.settings.rasa_token.get_secret_value()}
    first, second = stack.settings.rasa_urls
    httpx.post(f"{first}{WEBHOOK}", json=first_turn, headers=token, timeout=60).raise_for_status()

    # The next turn goes to the other instance, without metadata: the
    # municipality must come from the shared PostgreSQL tracker store.
    reply = httpx.post(
        f"{second}{WEBHOOK}",
        json={"sender": sender, "message": "Hvordan fungerer løntilskud?"},
        headers=token,
        timeout=60,
    ).json()
    answer = next(m["custom"] for m in reply if m.get("custom", {}).get("kind") == "answer")
    assert answer["municipality"] == "rodovre"

    tracker_engine = create_engine(make_engine(stack.settings.tracker_database_url).url)
    with tracker_engine.connect() as connection:
        turns = connection.execute(
            text("SELECT COUNT(*) FROM events WHERE sender_id = :s AND type_name = 'user'"), {"s": sender}
        ).scalar()
    tracker_engine.dispose()
    assert turns == 2


def test_health_lists_both_instances_and_our_database_on_postgresql(production_stack):
    health = httpx.get(f"{production_stack.web_url}/health", timeout=30).json()
    assert health["status"] == "ok" and health["db"] == "ok"
    assert health["rasa_instances"] == [{"instance": 1, "status": "ok"}, {"instance": 2, "status": "ok"}]


def test_two_workers_draining_the_queue_at_once_send_each_event_once_and_in_order():
    """What two front-door workers do with the durable queue to Rasa
    (bot/api/rasa_sync.py), on PostgreSQL: lease a conversation's head,
    send it, delete it, over and over, at the same time."""
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    senders = [f"queue-{n}" for n in range(4)]
    with fresh_database() as url:
        migrate(url)
        engine = make_engine(url)
        with Session(engine) as session, session.begin():
            for number in range(25):
                for sender in senders:
                    rasa_queue.enqueue(session, sender, {"event": "slot", "value": number})
        sent: list[tuple[str, int]] = []

        def drain() -> None:
            while any(_deliver_head(engine, sender, sent) for sender in senders) or _pending(engine):
                pass

        workers = [threading.Thread(target=drain) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(120)
        engine.dispose()
    for sender in senders:
        assert [value for name, value in sent if name == sender] == list(range(25))


def _deliver_head(engine, sender: str, sent: list[tuple[str, int]]) -> bool:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        item = rasa_queue.lease_head(session, sender, due_only=False)
    if item is None:
        return False
    sent.append((sender, item.event["value"]))  # "sent to Rasa" while the lease is held
    with Session(engine) as session, session.begin():
        rasa_queue.delivered(session, item.id)
    return True


def _pending(engine) -> bool:
    with Session(engine) as session:
        return rasa_queue.backlog(session) > 0


# -- fifty conversations at once, one Rasa instance killed in the middle ---------

MUNICIPALITIES = ["ballerup", "gladsaxe", "rodovre", "rudersdal"]
#: Questions every municipality's knowledge answers, and their topic.
QUESTIONS = [
    ("Hvad er et fleksjob?", "fleksjob"),
    ("Hvad går virksomhedspraktik ud på?", "virksomhedspraktik"),
    ("Hvad kan jeg få i handicapkompenserende ordninger?", "handicapkompensation"),
]
FIRST_NAMES = ["Anna", "Bo", "Carla", "Dan", "Eva", "Finn", "Gitte", "Hans", "Ida", "Jens"]
LAST_NAMES = ["Holm", "Lund", "Berg", "Dahl", "Krogh"]
CONVERSATIONS = 50
#: The turn after which (counted over all conversations) an instance is killed.
KILL_AFTER_TURNS = 100


@dataclass
class Conversation:
    """One citizen's conversation: a question on a topic in their
    municipality, then a callback request with a name and phone number only
    this conversation has, which the last answer repeats."""

    number: int
    sender: str = field(default_factory=lambda: f"scale-{secrets.token_urlsafe(16)}")
    #: (sent at, answered at) on the monotonic clock, of every attempt that got a 503.
    unavailable: list[tuple[float, float]] = field(default_factory=list)
    #: (sent at, answered at) of every attempt.
    attempts: list[tuple[float, float]] = field(default_factory=list)
    replies: list[list[dict]] = field(default_factory=list)

    @property
    def municipality(self) -> str:
        return MUNICIPALITIES[self.number % len(MUNICIPALITIES)]

    @property
    def question(self) -> tuple[str, str]:
        return QUESTIONS[self.number // len(MUNICIPALITIES) % len(QUESTIONS)]

    @property
    def name(self) -> str:
        return f"{FIRST_NAMES[self.number % 10]} {LAST_NAMES[self.number // 10]}"

    @property
    def phone(self) -> str:
        return f"20 30 40 {self.number:02d}"

    def turns(self) -> list[tuple[str, Callable[[list[dict]], bool]]]:
        """Each message, and what its reply must be."""
        question, topic = self.question
        return [
            (question, lambda r: _answer(r, self.municipality, topic)),
            ("Kan I ringe mig op?", lambda r: _kind(r) == "handoff"),
            ("Ring eller skriv til mig", lambda r: _kind(r) == "form"),
            (self.name, lambda r: _kind(r) == "form" and "telefonnummer" in _texts(r)),
            (self.phone, lambda r: _kind(r) == "form"),
            ("Jeg vil høre om hjælp til at finde job", lambda r: self.phone in _texts(r)),
        ]


def _kind(reply: list[dict]) -> str | None:
    return next((m["custom"]["kind"] for m in reply if "kind" in (m.get("custom") or {})), None)


def _texts(reply: list[dict]) -> str:
    return "\n".join(m.get("text", "") for m in reply)


def _answer(reply: list[dict], municipality: str, topic: str) -> bool:
    custom = next((m["custom"] for m in reply if (m.get("custom") or {}).get("kind") == "answer"), {})
    return custom.get("municipality") == municipality and custom.get("topic") == topic


class Run:
    """Fifty conversations at once through both front-door workers; kills
    the second Rasa instance (SIGKILL) once KILL_AFTER_TURNS turns are done."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.done = 0
        self.killed_at: float | None = None

    async def turn(self, web: httpx.AsyncClient, talk: Conversation, index: int, message: str) -> list[dict]:
        """Send one message; a 503 is recorded and the turn ends there (the
        citizen would read "Prøv igen om lidt")."""
        body = {"sender": talk.sender, "message": message}
        if index == 0:
            body["metadata"] = {"municipality": talk.municipality}  # later turns: from the shared tracker
        sent = time.monotonic()
        response = await web.post("/api/chat", json=body)
        talk.attempts.append((sent, time.monotonic()))
        if response.status_code == 503:
            assert response.json()["detail"].startswith(UNAVAILABLE)
            talk.unavailable.append(talk.attempts[-1])
            return []
        assert response.status_code == 200, response.text
        return response.json()

    async def conversation(self, web: httpx.AsyncClient, talk: Conversation) -> None:
        for index, (message, _) in enumerate(talk.turns()):
            talk.replies.append(await self.turn(web, talk, index, message))
            if talk.unavailable:
                return
            self.done += 1
            if self.done == KILL_AFTER_TURNS:
                self.killed_at = time.monotonic()
                self.stack.children["rasa-2"].kill()

    async def run(self, talks: list[Conversation]) -> None:
        limits = httpx.Limits(max_connections=CONVERSATIONS)
        async with httpx.AsyncClient(base_url=self.stack.web_url, timeout=120, limits=limits) as web:
            await asyncio.gather(*(self.conversation(web, talk) for talk in talks))


def crossed(talk: Conversation, talks: list[Conversation]) -> list[tuple[int, int, str]]:
    """Replies in `talk` that carry another conversation's municipality or phone number."""
    others = [other.phone for other in talks if other is not talk]
    found = []
    for index, reply in enumerate(talk.replies):
        places = {(m.get("custom") or {}).get("municipality") for m in reply} - {None, talk.municipality}
        phones = [phone for phone in others if phone in _texts(reply)]
        found += [(talk.number, index, str(thing)) for thing in [*places, *phones]]
    return found


def off_script(talk: Conversation) -> list[tuple[int, int, str]]:
    """Replies that are not what the script expects."""
    checks = zip(talk.turns(), talk.replies, strict=True)
    return [(talk.number, index, _texts(reply)[:80]) for index, ((_, ok), reply) in enumerate(checks) if not ok(reply)]


def test_fifty_conversations_at_once_survive_the_loss_of_a_rasa_instance(production_stack):
    """Every turn is answered, in its place, the ones in flight when the
    instance died too: from the shared tracker when the dead instance had
    saved the turn, else by the other instance (bot/api/rasa_client.py)."""
    stack = production_stack
    talks = [Conversation(number) for number in range(CONVERSATIONS)]
    run = Run(stack)
    asyncio.run(run.run(talks))
    record_scale_out(talks, run)

    assert run.killed_at is not None and not stack.children["rasa-2"].alive()
    in_flight = [t.number for t in talks if any(sent < run.killed_at < done for sent, done in t.attempts)]
    assert len(in_flight) > 10  # the kill came in the middle of the conversations' turns
    assert [t.number for t in talks if t.unavailable] == []
    assert [found for talk in talks for found in crossed(talk, talks)] == []  # no reply from another conversation
    assert [found for talk in talks for found in off_script(talk)] == []  # every turn answered in its place, once

    engine = make_engine(stack.settings.database_url)
    with Session(engine) as session:
        cases = {case.sender: case for case in session.scalars(select(HandoffCase))}
    engine.dispose()
    stored = [
        (c.channel, c.municipality.value, c.contact_name, c.contact_phone)
        for c in map(cases.get, (t.sender for t in talks))
        if c
    ]
    assert stored == [(Channel.CALLBACK, t.municipality, t.name, t.phone) for t in talks]

    health = httpx.get(f"{stack.web_url}/health", timeout=30)
    assert health.status_code == 503 and health.json()["rasa"] == "degraded"
    assert [i["status"] for i in health.json()["rasa_instances"]] == ["ok", "unavailable"]


def record_scale_out(talks: list[Conversation], run: Run) -> None:
    """How many conversations and attempts got a 503, and any wrong reply,
    for the closing note (test-artifacts/scale_out.json)."""
    (ARTIFACTS / "scale_out.json").write_text(
        json.dumps(
            {
                "conversations": len(talks),
                "turns": sum(len(t.turns()) for t in talks),
                "conversations_with_503": sum(1 for t in talks if t.unavailable),
                "attempts_with_503": sum(len(t.unavailable) for t in talks),
                "conversations_in_flight_at_the_kill": sum(
                    1 for t in talks if any(sent < (run.killed_at or 0) < done for sent, done in t.attempts)
                ),
            },
            indent=2,
        )
    )


#: Takes tickets for one conversation in a loop, in Rasa's environment; prints their numbers.
TAKE_TICKETS = """
import json, sys
from rasa.utils.endpoints import EndpointConfig
from rasa.shared.utils.common import class_from_module_path
store_class, url, prefix, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
from redis import Redis
redis = Redis.from_url(url).connection_pool.connection_kwargs
config = EndpointConfig(url=redis["host"], port=redis["port"], db=redis["db"], key_prefix=prefix)
store = class_from_module_path(store_class)(endpoint_config=config)
print(json.dumps([store.issue_ticket("conversation", 60) for _ in range(count)]))
"""


def test_two_rasa_processes_taking_tickets_at_once_never_get_the_same_number():
    """Our lock store in Rasa's environment, on real Redis: two processes
    take 300 tickets each for one conversation at the same time."""
    if not TEST_REDIS_URL:
        pytest.skip("TEST_REDIS_URL is not set")
    prefix = f"test{secrets.token_hex(6)}"
    argv = [str(RASA_PYTHON), "-c", TAKE_TICKETS, "bot.rasa_lock_store.AtomicRedisLockStore", TEST_REDIS_URL, prefix]
    takers = [subprocess.Popen([*argv, "300"], cwd=ROOT, stdout=subprocess.PIPE) for _ in range(2)]
    numbers = [number for taker in takers for number in json.loads(taker.communicate(timeout=300)[0])]
    assert all(taker.returncode == 0 for taker in takers)
    assert sorted(numbers) == list(range(600))
    redis = Redis.from_url(TEST_REDIS_URL)
    lock = json.loads(redis.get(f"{prefix}:lock:conversation"))
    redis.delete(f"{prefix}:lock:conversation")
    assert len(lock["tickets"]) == 600  # no change wrote back a lock without another's ticket


#: One conversation's turn waits behind the ticket of an instance that died
#: holding the lock (its ticket is never cleaned up), in Rasa's environment
#: with TICKET_LOCK_LIFETIME=2; prints how long it waited, or the error.
WAIT_BEHIND_A_DEAD_TICKET = """
import asyncio, json, sys, time
from redis import Redis
from rasa.utils.endpoints import EndpointConfig
from bot.rasa_lock_store import AtomicRedisLockStore
url, prefix = sys.argv[1], sys.argv[2]
redis = Redis.from_url(url).connection_pool.connection_kwargs
store = AtomicRedisLockStore(EndpointConfig(url=redis["host"], port=redis["port"], db=redis["db"], key_prefix=prefix))
store.issue_ticket("conversation", 2)
time.sleep(0.2)
async def turn():
    started = time.monotonic()
    try:
        async with store.lock("conversation", lock_lifetime=2, wait_time_in_seconds=1):
            return {"waited": time.monotonic() - started}
    except Exception as exc:
        return {"error": type(exc).__name__}
print(json.dumps(asyncio.run(turn())))
"""


def test_a_turn_waiting_behind_a_dead_instances_lock_is_served_when_that_lock_expires():
    """The turn sent again after an instance died holding its conversation's
    lock: its own ticket, issued 0.2 s after the dead one, is renewed while it
    waits, so it does not expire with the dead one (LockError)."""
    if not TEST_REDIS_URL:
        pytest.skip("TEST_REDIS_URL is not set")
    prefix = f"test{secrets.token_hex(6)}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TICKET_LOCK_LIFETIME": "2"}
    argv = [str(RASA_PYTHON), "-c", WAIT_BEHIND_A_DEAD_TICKET, TEST_REDIS_URL, prefix]
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert "error" not in result, result
    assert 1.5 < result["waited"] < 4  # served once the dead ticket expired, not before
    assert Redis.from_url(TEST_REDIS_URL).get(f"{prefix}:lock:conversation") is None  # nothing left behind
