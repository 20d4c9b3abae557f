"""The front door's monitor on real sockets: a port that refuses connections
is down at once, a stopped process only after it missed checks in a row."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from bot.api.monitor import MISSES_BEFORE_DOWN, Monitor
from bot.api.rasa_client import RasaClient
from tests.conftest import free_port

#: Answers every GET like a healthy Rasa and action server would.
HEALTHY = """
import http.server, json, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"status": "ok", "model_file": "models/abc.tar.gz"}).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


@pytest.fixture
def healthy() -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", HEALTHY, str(port)])
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            break
        except httpx.HTTPError:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    yield port, server
    server.send_signal(signal.SIGCONT)
    server.kill()
    server.wait()


async def test_a_refused_port_is_down_at_once(settings, healthy):
    port, _ = healthy
    own = settings.model_copy(update={"actions_port": port, "rasa_port": free_port()})
    async with httpx.AsyncClient() as http:
        monitor = Monitor(own, RasaClient(own), http)
        assert monitor.down() is None  # nothing is known before the first check
        parts = await monitor.check()
    assert (parts.rasa, parts.actions) == ("unavailable", "ok")
    assert monitor.down() == "rasa"


async def test_a_stopped_process_is_down_after_missed_checks_and_up_when_it_answers(settings, healthy):
    port, server = healthy
    own = settings.model_copy(update={"actions_port": port, "rasa_port": port})
    async with httpx.AsyncClient() as http:
        monitor = Monitor(own, RasaClient(own), http)
        assert (await monitor.check()).model == "abc"
        os.kill(server.pid, signal.SIGSTOP)
        for missed in range(1, MISSES_BEFORE_DOWN + 1):
            parts = await monitor.check()
            assert parts.actions == "unavailable"
            assert monitor.down() == ("rasa" if missed == MISSES_BEFORE_DOWN else None)
        os.kill(server.pid, signal.SIGCONT)
        await monitor.check()
    assert monitor.down() is None
