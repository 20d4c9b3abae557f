"""Load: turns per second, latency and CPU seconds per turn under concurrent
conversations; the front door against Rasa alone, one Rasa instance against
two, and what idle SSE connections cost the front door.

    python -m bench.load                        # everything (make bench-load), 7 to 12 minutes on 2 cores
    python -m bench.load --only gateway,sse     # some parts: gateway, profile, scale, sse
    python -m bench.load --levels 1,10          # other numbers of concurrent conversations

gateway  One stack as `make run` starts it (SQLite, one Rasa) on free ports
         with fresh tokens. Rounds alternate (front door, Rasa, Rasa, front
         door ...; at one conversation, conversation by conversation) on
         the same messages: POST /api/chat, and Rasa alone, a
         POST straight to our channel's webhook in Rasa
         (/webhooks/frontdoor/webhook with X-Frontdoor-Token: the call the
         front door makes). Each round runs the given number of concurrent
         conversations of four turns each, with new senders; the CPU seconds
         of every process (each with its children, from /proc/<pid>/stat)
         are read before and after it.
profile  On the same stack, one turn at a time: Rasa's NLU alone
         (/model/parse), a whole turn in Rasa, a turn through the front
         door, each with its CPU per process; and one long conversation,
         to show what a growing tracker costs a turn.
scale    The front door on PostgreSQL (fresh databases, dropped afterwards)
         and Redis (LOCK_STORE_URL) with one Rasa instance and with
         RASA_INSTANCES=2: both stacks run side by side and take
         alternating rounds. CPU includes our databases' PostgreSQL
         backends and the Redis server.
sse      The front door's CPU (idle, and over a steady stream of one
         conversation's turns) and /api/chat p50 with --sse-connections
         idle SSE connections open, against windows before and after.

Prints tables and writes everything, with the command, core count, date
and model fingerprint, to test-artifacts/bench/load-<date>.json. The
physical limit is the machine's cores divided by the CPU seconds a turn
costs all server processes together.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import secrets
import shlex
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import ExitStack, asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from bench.chat import bench_settings, free_ports, new_sender
from bot.api.rasa_client import TOKEN_HEADER, WEBHOOK
from bot.model import fingerprint, model_path
from bot.settings import ROOT, Settings
from bot.stack import Stack
from bot.storage.db import make_engine

PARTS = ("gateway", "profile", "scale", "sse")
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
OUT_DIR = ROOT / "test-artifacts" / "bench"
CLIENT_TIMEOUT = 60.0
#: A round sends at least this many turns, and at least TURNS_PER_WORKER per conversation slot.
MIN_ROUND_TURNS = 120
TURNS_PER_WORKER = 8
WARMUP_LEVEL = 10
LONG_CONVERSATION_TURNS = 40
SSE_IDLE_SECONDS = 10
SSE_SETTLE_SECONDS = 3
SSE_OPEN_TIMEOUT = 60
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Conversation:
    municipality: str
    audience: str
    turns: tuple[str, ...]

    @property
    def metadata(self) -> dict[str, str]:
        return {"municipality": self.municipality, "audience": self.audience}


#: Written for this benchmark (not the development sets): two per municipality,
#: a question, follow-ups and a thank-you, as people write them.
CONVERSATIONS = (
    Conversation(
        "ballerup",
        "borger",
        ("Hvad er et fleksjob?", "hvor mange timer skal man arbejde om ugen", "hvem betaler min løn", "tak"),
    ),
    Conversation(
        "ballerup",
        "virksomhed",
        (
            "Vi vil gerne have en ledig i virksomhedspraktik",
            "hvor længe må praktikken vare?",
            "kan vi få løntilskud bagefter?",
            "tak for hjælpen",
        ),
    ),
    Conversation(
        "gladsaxe",
        "borger",
        (
            "Hvad er mine pligter når jeg får kontanthjælp?",
            "hvad sker der hvis jeg ikke kommer til samtalen",
            "skal jeg søge job hver uge?",
            "okay tak",
        ),
    ),
    Conversation(
        "gladsaxe",
        "virksomhed",
        (
            "Kan jobcentret hjælpe os med at finde en ny medarbejder?",
            "koster det noget?",
            "kan vi ansætte en person med handicap?",
            "tak",
        ),
    ),
    Conversation(
        "rodovre",
        "borger",
        (
            "Kan jeg få hjælpemidler på arbejdet når jeg har et handicap?",
            "hvad med personlig assistance",
            "gælder det også i Ballerup?",
            "tak skal du have",
        ),
    ),
    Conversation(
        "rodovre",
        "borger",
        ("Hvad er løntilskud?", "hvor længe kan jeg være i løntilskud", "hvad får jeg i løn", "tak"),
    ),
    Conversation(
        "rudersdal",
        "borger",
        (
            "Jeg er sygemeldt, kan jeg komme i virksomhedspraktik?",
            "får jeg stadig sygedagpenge",
            "hvor mange timer om ugen?",
            "tak",
        ),
    ),
    Conversation(
        "rudersdal",
        "virksomhed",
        (
            "Vi har en medarbejder i fleksjob som er blevet syg, hvad gør vi?",
            "får vi refusion?",
            "hvordan ansætter vi en mere i fleksjob",
            "tak",
        ),
    ),
)
TURNS_PER_CONVERSATION = len(CONVERSATIONS[0].turns)


# -- pure helpers --------------------------------------------------------------


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    """p50, p95 and p99 of the values (linear interpolation between ranks)."""
    if not values:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None}
    if len(values) == 1:
        return {key: round(values[0], 1) for key in ("p50_ms", "p95_ms", "p99_ms")}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49], 1), "p95_ms": round(cuts[94], 1), "p99_ms": round(cuts[98], 1)}


def _stat_fields(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (field 3 on)."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    return raw[raw.rindex(")") + 2 :].split()


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process and cutime + cstime of its waited-for children."""
    return sum(int(value) for value in _stat_fields(pid)[11:15]) / CLOCK_TICKS


def process_tree(pid: int) -> list[int]:
    """The process and all its living descendants."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents.setdefault(int(_stat_fields(int(entry.name))[1]), []).append(int(entry.name))
            except (OSError, IndexError):  # it exited meanwhile
                continue
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(parents.get(current, []))
    return tree


def cpu_by_pid(pids: Sequence[int]) -> dict[int, float]:
    """CPU seconds of each process that still exists."""
    found = {}
    for pid in pids:
        try:
            found[pid] = cpu_seconds(pid)
        except OSError:
            continue
    return found


Snapshot = dict[str, dict[int, float]]


def cpu_used(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """CPU seconds each group used between two snapshots. A process that
    started in between counts whole; one that ended in between is lost (the
    time of a child that ended is in its parent's cutime)."""
    return {
        group: round(sum(cpu - before.get(group, {}).get(pid, 0.0) for pid, cpu in pids.items()), 3)
        for group, pids in after.items()
    }


# -- what is measured ----------------------------------------------------------


@dataclass
class Meter:
    """Reads the CPU seconds of the stack's processes (each with its
    children), our PostgreSQL databases' backends, the Redis server and
    this client."""

    stack: Stack
    databases: Sequence[str] = ()
    postgres: URL | None = None
    redis_pid: int | None = None

    def snapshot(self) -> Snapshot:
        groups = {name: cpu_by_pid(process_tree(p.pid)) for name, p in self.stack.processes.items()}
        if self.postgres is not None:
            groups["postgresql"] = cpu_by_pid(self._backends(self.postgres))
        if self.redis_pid:
            groups["redis"] = cpu_by_pid([self.redis_pid])
        groups["bench client"] = {0: time.process_time()}
        return groups

    def _backends(self, server: URL) -> list[int]:
        engine = create_engine(server, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                query = text("SELECT pid FROM pg_stat_activity WHERE datname = ANY(:names) AND pid <> pg_backend_pid()")
                return [row[0] for row in connection.execute(query, {"names": list(self.databases)})]
        finally:
            engine.dispose()


@dataclass(frozen=True)
class Target:
    """Where a turn goes: the front door, or Rasa's channel webhook directly."""

    name: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)


def front_door(stack: Stack, name: str = "front door") -> Target:
    return Target(name, f"{stack.web_url}/api/chat")


def _rasa_token(stack: Stack) -> str:
    assert stack.settings.rasa_token is not None
    return stack.settings.rasa_token.get_secret_value()


def rasa_alone(stack: Stack) -> Target:
    return Target("Rasa alone", f"{stack.settings.rasa_url}{WEBHOOK}", {TOKEN_HEADER: _rasa_token(stack)})


@dataclass
class Tally:
    """The turns of a round: the latency of each answered one, errors by kind."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)


async def send_turn(
    client: aiohttp.ClientSession, target: Target, sender: str, text: str, metadata: dict[str, str], tally: Tally
) -> None:
    body = {"sender": sender, "message": text, "metadata": metadata}
    started = time.perf_counter()
    try:
        async with client.post(target.url, json=body, headers=target.headers) as response:
            status, reply = response.status, await response.json(content_type=None)
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        tally.errors[type(exc).__name__] += 1
        return
    if status != 200:
        tally.errors[f"HTTP {status}"] += 1
    elif not reply:
        tally.errors["empty reply"] += 1
    else:
        tally.latencies_ms.append((time.perf_counter() - started) * 1000)


async def converse(client: aiohttp.ClientSession, target: Target, index: int, tally: Tally) -> None:
    """One whole conversation, turn after turn, under a new sender."""
    conversation, sender = CONVERSATIONS[index % len(CONVERSATIONS)], new_sender()
    for message in conversation.turns:
        await send_turn(client, target, sender, message, conversation.metadata, tally)


def round_turns(level: int) -> int:
    """Turns in a round: a whole number of conversations for every worker."""
    turns = max(MIN_ROUND_TURNS, TURNS_PER_WORKER * level)
    per_worker = math.ceil(turns / (TURNS_PER_CONVERSATION * level))
    return per_worker * TURNS_PER_CONVERSATION * level


async def run_round(client: aiohttp.ClientSession, target: Target, level: int) -> Tally:
    """`level` conversations at a time until the round's turns are sent."""
    tally = Tally()
    indices = iter(range(round_turns(level) // TURNS_PER_CONVERSATION))

    async def worker() -> None:
        for index in indices:  # shared: each worker takes the next conversation
            await converse(client, target, index, tally)

    await asyncio.gather(*(worker() for _ in range(level)))
    return tally


@dataclass(frozen=True)
class Round:
    target: str
    level: int
    tally: Tally
    seconds: float
    cpu: dict[str, float]


async def measured_round(client: aiohttp.ClientSession, meter: Meter, target: Target, level: int) -> Round:
    before, started = meter.snapshot(), time.perf_counter()
    tally = await run_round(client, target, level)
    seconds = time.perf_counter() - started
    return Round(target.name, level, tally, seconds, cpu_used(before, meter.snapshot()))


def load_client(level: int = 1) -> aiohttp.ClientSession:
    """The load generator's HTTP client. aiohttp, which costs a fraction of
    httpx's CPU per call: the client shares the cores with the servers."""
    timeout = aiohttp.ClientTimeout(total=CLIENT_TIMEOUT)
    return aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=level + 10))


async def alternating_rounds(
    targets: Sequence[tuple[Target, Meter]], levels: Sequence[int], rounds: int
) -> list[Round]:
    """A warm-up round per target, then for each level `rounds` rounds per
    target in ABBA order, so that neither target always goes first and a
    change in the machine's load falls on both. At one conversation the
    targets alternate conversation by conversation (`paired_round`)."""
    done: list[Round] = []
    async with load_client(max(*levels, WARMUP_LEVEL)) as client:
        for target, _ in targets:
            await run_round(client, target, WARMUP_LEVEL)
        for level in levels:
            for n in range(rounds):
                if level == 1:
                    done += await paired_round(client, targets)
                    continue
                for target, meter in targets if n % 2 == 0 else reversed(targets):
                    done.append(await measured_round(client, meter, target, level))
    return done


async def paired_round(client: aiohttp.ClientSession, targets: Sequence[tuple[Target, Meter]]) -> list[Round]:
    """A round at one conversation for every target, taken in turns one
    conversation at a time (A B, B A, ...): the same messages within a
    second of each other, so the machine's drift (a round of 120 turns
    takes seconds, and the p50s of two such rounds differ by more than
    the front door's few milliseconds) falls on both alike. The meter is
    read around every conversation; those reads show in the bench
    client's CPU (0.003 s a turn here against 0.001 in other rounds), not
    in the servers'."""
    tallies = {target.name: Tally() for target, _ in targets}
    seconds: Counter[str] = Counter()
    cpu: dict[str, Counter[str]] = {target.name: Counter() for target, _ in targets}
    for index in range(round_turns(1) // TURNS_PER_CONVERSATION):
        for target, meter in targets if index % 2 == 0 else reversed(targets):
            before, started = meter.snapshot(), time.perf_counter()
            await converse(client, target, index, tallies[target.name])
            seconds[target.name] += time.perf_counter() - started
            cpu[target.name].update(cpu_used(before, meter.snapshot()))
    return [Round(t.name, 1, tallies[t.name], seconds[t.name], dict(cpu[t.name])) for t, _ in targets]


# -- summaries and tables -----------------------------------------------------------

SERVER_GROUPS_EXCLUDED = ("bench client",)


def summarise(rounds: Sequence[Round]) -> list[dict[str, Any]]:
    """One row per target and level: throughput, latency, errors, CPU per turn."""
    rows = []
    for key in dict.fromkeys((r.target, r.level) for r in rounds):
        group = [r for r in rounds if (r.target, r.level) == key]
        latencies = [ms for r in group for ms in r.tally.latencies_ms]
        errors = sum((r.tally.errors for r in group), Counter())
        seconds = sum(r.seconds for r in group)
        rows.append(
            {
                "target": key[0],
                "level": key[1],
                "turns": len(latencies),
                "errors": dict(errors),
                "seconds": round(seconds, 2),
                "turns_per_s": round(len(latencies) / seconds, 2),
                **percentiles(latencies),
                **cpu_per_turn(group, len(latencies)),
            }
        )
    return rows


def cpu_per_turn(rounds: Sequence[Round], turns: int) -> dict[str, Any]:
    """CPU seconds per answered turn for each process, their total (without
    this client) and the physical limit it sets on this machine's cores; and
    the turns per second the busiest process allows on one core (Rasa,
    the action server and the front door each run one event loop)."""
    used: Counter[str] = Counter()
    for r in rounds:
        used.update(r.cpu)
    per_turn = {name: round(seconds / max(turns, 1), 4) for name, seconds in used.items()}
    servers = {k: v for k, v in per_turn.items() if k not in SERVER_GROUPS_EXCLUDED}
    total = sum(servers.values())
    busiest = max(servers, key=lambda name: servers[name], default=None)
    return {
        "cpu_s_per_turn": per_turn,
        "cpu_s_per_turn_total": round(total, 4),
        "limit_turns_per_s": round((os.cpu_count() or 1) / total, 1) if total else None,
        "busiest_process": busiest,
        "busiest_one_core_turns_per_s": round(1 / servers[busiest], 1) if busiest and servers[busiest] else None,
    }


def print_rows(title: str, rows: Sequence[dict[str, Any]]) -> None:
    print(f"\n{title}")
    print(
        f"{'conv':>5}  {'target':<12}{'turns':>6}{'turns/s':>9}{'p50':>8}{'p95':>8}{'p99':>8}{'errors':>7}  "
        f"{'CPU s/turn':>10}{'limit/s':>9}{'1-core/s':>9}  CPU s/turn by process"
    )
    for row in rows:
        by_process = ", ".join(f"{name} {value:.3f}" for name, value in row["cpu_s_per_turn"].items())
        print(
            f"{row['level']:>5}  {row['target']:<12}{row['turns']:>6}{row['turns_per_s']:>9.1f}"
            f"{_ms(row['p50_ms'])}{_ms(row['p95_ms'])}{_ms(row['p99_ms'])}{sum(row['errors'].values()):>7}  "
            f"{row['cpu_s_per_turn_total']:>10.3f}{row['limit_turns_per_s'] or 0:>9.1f}"
            f"{row['busiest_one_core_turns_per_s'] or 0:>9.1f}  {by_process}"
        )
    print(
        "  limit/s: the cores over all server processes' CPU s per turn; "
        "1-core/s: one core over the busiest process's (one event loop each)"
    )


def _ms(value: float | None) -> str:
    return f"{value:>8.0f}" if value is not None else f"{'-':>8}"


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


# -- stacks ----------------------------------------------------------------------


def meter_for(stack: Stack) -> Meter:
    """A meter for the stack, with PostgreSQL and Redis when it uses them."""
    settings = stack.settings
    tracker, app = make_url(settings.tracker_database_url), make_url(settings.database_url)
    if tracker.get_backend_name() != "postgresql":
        return Meter(stack)
    server = make_engine(settings.tracker_database_url).url
    return Meter(stack, [str(app.database), str(tracker.database)], server, redis_pid(settings.lock_store_url))


def redis_pid(url: str) -> int | None:
    """The Redis server's process id, when it runs on this machine."""
    if not url:
        return None
    with redis.Redis.from_url(url) as client:
        pid = int(client.info("server")["process_id"])
    return pid if Path(f"/proc/{pid}").exists() else None


def trained_model() -> Path:
    model = model_path()
    if not model.exists():
        raise SystemExit(f"No trained model at {model}: run `make model` first.")
    return model


@contextmanager
def running(settings: Settings, scratch: Path) -> Iterator[Stack]:
    """Start a stack on the settings, wait until it answers, warm it up; stop it afterwards."""
    stack = Stack(settings, trained_model(), log_dir=scratch / "logs")
    try:
        stack.start()
        stack.wait_ready()
        stack.warm_up()
        yield stack
    finally:
        stack.stop()


def scratch_settings(scratch: Path, **update: Any) -> Settings:
    """Free ports (a free run of them for several Rasa instances), fresh
    tokens, databases in `scratch` unless `update` says otherwise."""
    rasa_port = free_ports(update.get("rasa_instances", 1))
    return bench_settings(scratch).model_copy(update={"var_dir": scratch, "rasa_port": rasa_port, **update})


@contextmanager
def postgres_databases(base_url: str, count: int) -> Iterator[list[str]]:
    """`count` new, empty PostgreSQL databases; their URLs. Dropped afterwards."""
    base = make_engine(base_url).url
    names = [f"bench_load_{secrets.token_hex(6)}" for _ in range(count)]
    admin = create_engine(base, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    created = []
    try:
        for name in names:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            created.append(name)
        yield [base.set(database=name).render_as_string(hide_password=False) for name in names]
    finally:
        for name in created:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def has_setting(name: str) -> bool:
    return name in Settings.model_fields


# -- the parts ---------------------------------------------------------------------


async def gateway(stack: Stack, levels: Sequence[int], rounds: int) -> dict[str, Any]:
    meter = meter_for(stack)
    rows = summarise(await alternating_rounds([(front_door(stack), meter), (rasa_alone(stack), meter)], levels, rounds))
    print_rows("Front door against Rasa alone (SQLite, one Rasa; Rasa alone = POST to its channel webhook)", rows)
    comparison = []
    for level in levels:
        door, rasa = (
            next(r for r in rows if r["level"] == level and r["target"] == t) for t in ("front door", "Rasa alone")
        )
        overhead = ratio(door["p50_ms"], rasa["p50_ms"])
        comparison.append(
            {
                "level": level,
                "p50_overhead_pct": round((overhead - 1) * 100, 1) if overhead else None,
                "throughput_ratio": ratio(door["turns_per_s"], rasa["turns_per_s"]),
            }
        )
        print(
            f"  {level:>3} conversations: front door p50 {comparison[-1]['p50_overhead_pct']}% over Rasa alone, "
            f"throughput {comparison[-1]['throughput_ratio']}× Rasa alone"
        )
    return {"rows": rows, "comparison": comparison}


async def timed_block(meter: Meter, call: Any, count: int) -> dict[str, Any]:
    """Run `call(i)` for i in range(count), one at a time; latency and CPU per call."""
    latencies = []
    before = meter.snapshot()
    for index in range(count):
        started = time.perf_counter()
        await call(index)
        latencies.append((time.perf_counter() - started) * 1000)
    used = cpu_used(before, meter.snapshot())
    per_call = {name: round(seconds / count, 4) for name, seconds in used.items()}
    return {
        "calls": count,
        "mean_ms": round(statistics.fmean(latencies), 1),
        **percentiles(latencies),
        "cpu_s": per_call,
    }


async def profile(stack: Stack) -> dict[str, Any]:
    """NLU alone, a whole turn in Rasa, a turn through the front door; one at a time."""
    meter, token = meter_for(stack), _rasa_token(stack)
    messages = [(c, text) for c in CONVERSATIONS for text in c.turns]
    senders: dict[str, list[str]] = {"rasa": [], "door": []}

    async with load_client() as client:

        async def parse(i: int) -> None:
            url = f"{stack.settings.rasa_url}/model/parse"
            async with client.post(url, params={"token": token}, json={"text": messages[i][1]}) as response:
                response.raise_for_status()
                await response.read()

        def turn(target: Target, key: str) -> Any:
            async def call(i: int) -> None:
                conversation, message = messages[i]
                if i % TURNS_PER_CONVERSATION == 0:
                    senders[key].append(new_sender())
                tally = Tally()
                await send_turn(client, target, senders[key][-1], message, conversation.metadata, tally)
                if tally.errors:
                    raise RuntimeError(f"{target.name}: {dict(tally.errors)}")

            return call

        blocks = {
            "nlu_parse": parse,
            "rasa_turn": turn(rasa_alone(stack), "rasa"),
            "front_door_turn": turn(front_door(stack), "door"),
        }
        result = {name: await timed_block(meter, call, len(messages)) for name, call in blocks.items()}
        result["tracker_growth"] = await tracker_growth(client, stack)
    print_profile(result)
    return result


async def tracker_growth(client: aiohttp.ClientSession, stack: Stack) -> dict[str, Any]:
    """Latency of the first and the last ten turns of one long conversation."""
    target, sender, tally = front_door(stack), new_sender(), Tally()
    messages = [(c, text) for c in CONVERSATIONS for text in c.turns[:3]]
    for index in range(LONG_CONVERSATION_TURNS):
        conversation, message = messages[index % len(messages)]
        await send_turn(client, target, sender, message, conversation.metadata, tally)
    first, last = tally.latencies_ms[:10], tally.latencies_ms[-10:]
    return {
        "turns": LONG_CONVERSATION_TURNS,
        "errors": dict(tally.errors),
        "first_10_p50_ms": round(statistics.median(first), 1),
        "last_10_p50_ms": round(statistics.median(last), 1),
    }


def print_profile(result: dict[str, Any]) -> None:
    print("\nWhere a turn goes (one at a time, the same 32 messages)")
    for name in ("nlu_parse", "rasa_turn", "front_door_turn"):
        block = result[name]
        cpu = ", ".join(f"{k} {v:.3f}" for k, v in block["cpu_s"].items())
        print(f"  {name:<16} p50 {block['p50_ms']:>6.0f} ms  mean {block['mean_ms']:>6.0f} ms   CPU s per call: {cpu}")
    growth = result["tracker_growth"]
    print(
        f"  one conversation of {growth['turns']} turns: p50 of the first ten {growth['first_10_p50_ms']:.0f} ms, "
        f"of the last ten {growth['last_10_p50_ms']:.0f} ms"
    )


async def scale(levels: Sequence[int], rounds: int, web_workers: int | None) -> dict[str, Any]:
    """The front door on PostgreSQL and Redis with one Rasa instance and with
    two: both stacks run side by side and take alternating rounds."""
    instances = (1, 2) if has_setting("rasa_instances") else (1,)
    if len(instances) == 1:
        print("\nRASA_INSTANCES is not in bot/settings.py: two instances not measured.")
    with ExitStack() as stacks:
        started = {n: stacks.enter_context(production_stack(n, web_workers)) for n in instances}
        targets = [(front_door(stack, instance_name(n)), meter_for(stack)) for n, stack in started.items()]
        rows = summarise(await alternating_rounds(targets, levels, rounds))
    workers = f", {web_workers} front-door workers" if web_workers and has_setting("web_workers") else ""
    print_rows(f"The front door on PostgreSQL + Redis{workers}, one Rasa instance against two (side by side)", rows)
    ratios = []
    for level in levels if len(instances) == 2 else ():
        one, two = (next(r for r in rows if (r["target"], r["level"]) == (instance_name(n), level)) for n in (1, 2))
        ratios.append({"level": level, "throughput_ratio": ratio(two["turns_per_s"], one["turns_per_s"])})
        print(f"  {level:>3} conversations: two instances give {ratios[-1]['throughput_ratio']}× one")
    return {"web_workers": web_workers or 1, "rows": rows, "two_over_one": ratios}


def instance_name(instances: int) -> str:
    return f"{instances} instance{'s' if instances > 1 else ''}"


@contextmanager
def production_stack(instances: int, web_workers: int | None) -> Iterator[Stack]:
    """A stack on two fresh PostgreSQL databases (dropped afterwards) and
    Redis, with `instances` Rasa instances."""
    base = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or DEFAULT_DATABASE_URL
    extra: dict[str, Any] = {"rasa_instances": instances} if has_setting("rasa_instances") else {}
    if web_workers and has_setting("web_workers"):
        extra["web_workers"] = web_workers
    scratch = Path(tempfile.mkdtemp(prefix="bench-load-"))
    with postgres_databases(base, 2) as (app_url, tracker_url):
        redis_url = os.environ.get("TEST_REDIS_URL") or DEFAULT_REDIS_URL
        update = {"database_url": app_url, "tracker_database_url": tracker_url, "lock_store_url": redis_url, **extra}
        with running(scratch_settings(scratch, **update), scratch) as stack:
            yield stack


@asynccontextmanager
async def idle_streams(stack: Stack, count: int) -> AsyncIterator[dict[str, int]]:
    """`count` open SSE connections, each for its own new sender, that only
    listen; yields how many opened and failed."""
    seen = {"opened": 0, "failed": 0}
    all_open = asyncio.Event()
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    client = httpx.AsyncClient(timeout=httpx.Timeout(30, read=None), limits=limits)

    async def hold() -> None:
        try:
            async with client.stream("GET", f"{stack.web_url}/api/chat/{new_sender()}/events") as response:
                response.raise_for_status()
                seen["opened"] += 1
                if seen["opened"] + seen["failed"] == count:
                    all_open.set()
                async for _ in response.aiter_raw():
                    pass
        except httpx.HTTPError:
            seen["failed"] += 1
            if seen["opened"] + seen["failed"] == count:
                all_open.set()

    tasks = [asyncio.create_task(hold()) for _ in range(count)]
    try:
        with suppress(asyncio.TimeoutError):
            await asyncio.wait_for(all_open.wait(), SSE_OPEN_TIMEOUT)
        yield seen
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await client.aclose()


async def sse_window(stack: Stack, meter: Meter, seconds: float) -> dict[str, Any]:
    """The front door's CPU while idle, then over `seconds` of one
    conversation's turns at a time, and those turns' latency."""
    before = meter.snapshot()
    await asyncio.sleep(SSE_IDLE_SECONDS)
    idle = cpu_used(before, meter.snapshot())["web"]
    tally, target, index = Tally(), front_door(stack), 0
    async with load_client() as client:
        before, started = meter.snapshot(), time.perf_counter()
        while time.perf_counter() - started < seconds:
            await converse(client, target, index, tally)
            index += 1
        elapsed = time.perf_counter() - started
        busy = cpu_used(before, meter.snapshot())["web"]
    return {
        "idle_front_door_cpu_pct": round(idle / SSE_IDLE_SECONDS * 100, 1),
        "front_door_cpu_pct": round(busy / elapsed * 100, 1),
        "front_door_cpu_s_per_turn": round(busy / max(len(tally.latencies_ms), 1), 4),
        "turns": len(tally.latencies_ms),
        "errors": dict(tally.errors),
        **percentiles(tally.latencies_ms),
    }


async def sse(stack: Stack, connections: int, seconds: float) -> dict[str, Any]:
    """Windows without, with and again without the idle connections; the
    added cost is measured against the mean of the two without, so that a
    change in the machine's load during the part counts less."""
    meter = meter_for(stack)
    before = await sse_window(stack, meter, seconds)
    async with idle_streams(stack, connections) as seen:
        await asyncio.sleep(SSE_SETTLE_SECONDS)
        with_streams = await sse_window(stack, meter, seconds) | seen
    after = await sse_window(stack, meter, seconds)
    result = {"connections": connections, "before": before, "with": with_streams, "after": after}
    for key, added in (("p50_ms", "added_p50_pct"), ("front_door_cpu_pct", "added_front_door_cpu_pct")):
        baseline = ratio(with_streams[key], statistics.fmean((before[key], after[key])))
        result[added] = round((baseline - 1) * 100, 1) if baseline else None
    print_sse(result)
    return result


def print_sse(result: dict[str, Any]) -> None:
    print("\nIdle SSE connections (one conversation's turns at a time, front door CPU in % of one core)")
    for name in ("before", "with", "after"):
        window = result[name]
        opened = f" ({window['opened']} open, {window['failed']} failed)" if name == "with" else ""
        print(
            f"  {name:<7} idle CPU {window['idle_front_door_cpu_pct']:>5.1f}%  "
            f"busy CPU {window['front_door_cpu_pct']:>5.1f}%  "
            f"p50 {window['p50_ms']:>5.0f} ms  p95 {window['p95_ms']:>5.0f} ms  turns {window['turns']}{opened}"
        )
    print(
        f"  {result['connections']} connections add {result['added_p50_pct']}% to p50 and "
        f"{result['added_front_door_cpu_pct']}% to the front door's busy CPU (against the mean of before and after)"
    )


# -- the command ------------------------------------------------------------------


def raise_open_files(connections: int) -> None:
    """Room for the SSE connections in this process and the stack it starts
    (children inherit the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4 * connections + 1024
    if soft != resource.RLIM_INFINITY and soft < wanted:
        limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))


async def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    if {"gateway", "profile", "sse"} & set(args.only):
        scratch = Path(tempfile.mkdtemp(prefix="bench-load-"))
        with running(scratch_settings(scratch), scratch) as stack:
            if "gateway" in args.only:
                results["gateway"] = await gateway(stack, args.levels, args.rounds)
            if "profile" in args.only:
                results["profile"] = await profile(stack)
            if "sse" in args.only:
                results["sse"] = await sse(stack, args.sse_connections, args.sse_seconds)
    if "scale" in args.only:
        results["scale"] = await scale(args.levels, args.rounds, args.web_workers)
    return results


def _list(kind: type) -> Any:
    return lambda value: [kind(item) for item in value.split(",") if item]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", type=_list(str), default=list(PARTS), help=f"parts, comma-separated: {', '.join(PARTS)}"
    )
    parser.add_argument(
        "--levels", type=_list(int), default=[1, 10, 50], help="concurrent conversations (default 1,10,50)"
    )
    parser.add_argument("--rounds", type=int, default=2, help="measured rounds per target and level (default 2)")
    parser.add_argument("--sse-connections", type=int, default=500, help="idle SSE connections (default 500)")
    parser.add_argument("--sse-seconds", type=float, default=20, help="the measured window for SSE (default 20)")
    parser.add_argument("--web-workers", type=int, help="front-door workers in the scale part (WEB_WORKERS)")
    return parser


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    unknown = set(args.only) - set(PARTS)
    if unknown:
        raise SystemExit(f"Unknown part(s): {', '.join(sorted(unknown))}. Choose from {', '.join(PARTS)}.")
    raise_open_files(args.sse_connections)
    started = datetime.now(timezone.utc)
    header: dict[str, Any] = {
        "command": shlex.join(["python", "-m", "bench.load", *argv]),
        "date": started.isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "model_fingerprint": fingerprint(),
    }
    print(
        f"{header['command']}: {header['cores']} cores, load average {header['load_average_at_start']}, "
        f"model {header['model_fingerprint'][:12]}"
    )
    results = asyncio.run(run(args))
    report = {
        **header,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "minutes": round((datetime.now(timezone.utc) - started).total_seconds() / 60, 1),
        **results,
    }
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    out = OUT_DIR / f"load-{started.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"\nWritten to {out.relative_to(ROOT)} ({report['minutes']} minutes).")


if __name__ == "__main__":
    main()
