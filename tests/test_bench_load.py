"""The load benchmark's own arithmetic: percentiles, CPU seconds read from
/proc for a real process tree, and the order in which the targets take
their turns at one conversation (bench/load.py). No timing is asserted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import suppress

import pytest
from aiohttp import web

from bench.chat import free_ports
from bench.load import (
    CONVERSATIONS,
    Target,
    cpu_by_pid,
    cpu_seconds,
    cpu_used,
    load_client,
    paired_round,
    percentiles,
    process_tree,
    round_turns,
)

#: A child that starts a grandchild which burns 0.6 s of CPU (by its own
#: clock), prints "burnt" and then sleeps; the child itself only waits.
BURNER = """
import subprocess, sys, time
grandchild = subprocess.Popen([sys.executable, "-c", '''
import time
while time.process_time() < 0.6:
    pass
print("burnt", flush=True)
time.sleep(60)
'''])
grandchild.wait()
"""


def test_percentiles_interpolate_between_ranks():
    assert percentiles([float(v) for v in range(101)]) == {"p50_ms": 50.0, "p95_ms": 95.0, "p99_ms": 99.0}
    assert percentiles([20.0, 10.0]) == {"p50_ms": 15.0, "p95_ms": 19.5, "p99_ms": 19.9}
    assert percentiles([7.0]) == {"p50_ms": 7.0, "p95_ms": 7.0, "p99_ms": 7.0}
    assert percentiles([]) == {"p50_ms": None, "p95_ms": None, "p99_ms": None}


def test_cpu_used_counts_new_processes_whole_and_skips_ended_ones():
    before = {"rasa": {10: 1.0, 11: 2.0}}
    after = {"rasa": {10: 1.5, 12: 0.25}, "redis": {20: 3.0}}  # 11 ended, 12 started
    assert cpu_used(before, after) == {"rasa": 0.75, "redis": 3.0}


@pytest.fixture
def burner():
    child = subprocess.Popen([sys.executable, "-c", BURNER], stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "burnt"
        yield child
    finally:
        with suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()


def test_the_cpu_of_a_process_tree_includes_a_living_grandchild(burner):
    tree = process_tree(burner.pid)
    assert len(tree) == 2 and tree[0] == burner.pid
    # /proc counts CPU in clock ticks, sampled: allow for a little less.
    assert cpu_seconds(burner.pid) < 0.3  # the child only waited
    assert sum(cpu_by_pid(tree).values()) >= 0.45


def test_a_process_that_is_gone_is_left_out(burner):
    grandchild = process_tree(burner.pid)[1]
    os.kill(grandchild, signal.SIGKILL)
    burner.wait()  # the child reaped the grandchild before it exited
    assert cpu_by_pid([grandchild, burner.pid]) == {}


def test_a_round_gives_every_worker_whole_conversations():
    per_conversation = len(CONVERSATIONS[0].turns)
    assert all(len(c.turns) == per_conversation for c in CONVERSATIONS)
    for level in (1, 10, 50):
        assert round_turns(level) % (per_conversation * level) == 0
        assert round_turns(level) >= 40


class ClientOnlyMeter:
    """A meter of this process alone (the targets below live in it)."""

    def snapshot(self) -> dict[str, dict[int, float]]:
        return {"bench client": {0: time.process_time()}}


async def test_at_one_conversation_the_targets_take_turns_conversation_by_conversation():
    """A B, B A, A B, ...: each target gets a whole round's conversations,
    and the same conversation reaches both within one pair."""
    seen: list[tuple[str, str]] = []

    async def turn(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append((request.match_info["target"], body["message"]))
        return web.json_response([{"text": "svar"}])

    app = web.Application()
    app.router.add_post("/{target}", turn)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_ports(1)
    await web.TCPSite(runner, "127.0.0.1", port).start()
    targets = [(Target(name, f"http://127.0.0.1:{port}/{name}"), ClientOnlyMeter()) for name in ("a", "b")]
    async with load_client() as client:
        rounds = await paired_round(client, targets)
    await runner.cleanup()
    per_conversation = len(CONVERSATIONS[0].turns)
    firsts = [target for target, _ in seen[::per_conversation]]
    assert firsts[:6] == ["a", "b", "b", "a", "a", "b"]
    assert [(r.target, r.level, len(r.tally.latencies_ms)) for r in rounds] == [
        ("a", 1, round_turns(1)),
        ("b", 1, round_turns(1)),
    ]
    messages = [message for _, message in seen]
    assert messages[:per_conversation] == messages[per_conversation : 2 * per_conversation]
