"""The runner's supervision, on real child processes (a tiny HTTP server).

A child that exits is restarted after a back-off and the others go on; a
child that stops answering (SIGSTOP) is killed and restarted. The same code
supervises Rasa, the action server and the front door (tests/test_faults.py
kills those).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from bot.stack import BACKOFF_SECONDS, Command, Stack, backoff, new_token, with_tokens
from tests.conftest import free_port


def _server(port: int) -> Command:
    argv = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    return Command(argv, dict(os.environ), f"http://127.0.0.1:{port}/")


def _wait(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


@pytest.fixture
def supervised(settings, tmp_path: Path):
    stack = Stack(settings, tmp_path / "no-model.tar.gz", log_dir=tmp_path, hung_seconds=3)
    stack.add("one", _server(free_port()))
    stack.add("two", _server(free_port()))
    stack.start_supervisor()
    _wait(lambda: all(child.answered_at for child in stack.children.values()))
    yield stack
    stack.stop()


def test_a_killed_child_is_restarted_and_the_other_keeps_running(supervised):
    one, two = supervised.children["one"], supervised.children["two"]
    first_pid, other_pid = one.process.pid, two.process.pid
    os.kill(first_pid, signal.SIGKILL)
    _wait(lambda: one.alive() and one.process.pid != first_pid and one.answers())
    assert two.process.pid == other_pid
    assert one.restarts == 1


def test_a_stopped_child_is_killed_and_restarted(supervised):
    one = supervised.children["one"]
    stopped_pid = one.process.pid
    os.kill(stopped_pid, signal.SIGSTOP)
    _wait(lambda: one.alive() and one.process.pid != stopped_pid and one.answers())


def test_stop_ends_every_child(supervised):
    processes = list(supervised.processes.values())
    supervised.stop()
    assert processes, "nothing to check"
    assert all(process.poll() is not None for process in processes)


def test_back_off_grows_and_is_capped():
    delays = [backoff(n) for n in range(10)]
    assert delays[:3] == [1, 2, 4]
    assert delays == sorted(delays) and max(delays) == BACKOFF_SECONDS[-1]


def test_tokens_never_begin_with_a_dash_and_are_kept_when_set(settings):
    assert not any(new_token().get_secret_value().startswith("-") for _ in range(2000))
    fresh = with_tokens(settings.model_copy(update={"rasa_token": None, "actions_token": None}))
    assert fresh.rasa_token and fresh.actions_token
    assert with_tokens(fresh).rasa_token == fresh.rasa_token
