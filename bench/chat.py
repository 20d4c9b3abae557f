"""The running assistant for the end-to-end benchmarks, and one chat turn.

bench.nlu and bench.e2e send development questions through POST /api/chat
to the three real processes, started with the trained model on free ports
with throwaway SQLite databases, exactly as the integration tests do.
"""

from __future__ import annotations

import random
import secrets
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bot.model import train
from bot.settings import Settings, get_settings
from bot.stack import Stack, with_tokens

#: Ports below Linux's ephemeral range (32768-60999). A port the kernel
#: hands out for "any free port" is in that range, and an outgoing
#: connection may take it while a Rasa server still loads its model (about
#: a minute on 2 cores) before it binds.
LISTEN_PORTS = range(20000, 32768)


def free_port() -> int:
    """A port nothing listens on now, outside the ephemeral range."""
    while True:
        port = random.choice(LISTEN_PORTS)
        if bindable(port):
            return port


def free_ports(count: int) -> int:
    """The first of `count` consecutive free ports (Rasa instance i listens on RASA_PORT + i)."""
    while True:
        first = free_port()
        if all(bindable(first + i) for i in range(1, count)):
            return first


def bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def bench_settings(scratch: Path) -> Settings:
    """The settings with free ports, fresh tokens and databases in `scratch`."""
    scratch_settings = get_settings().model_copy(
        update={
            "web_port": free_port(),
            "rasa_port": free_port(),
            "actions_port": free_port(),
            "rasa_token": None,
            "actions_token": None,
            "database_url": f"sqlite:///{scratch / 'app.db'}",
            "tracker_database_url": f"sqlite:///{scratch / 'tracker.db'}",
        }
    )
    return with_tokens(scratch_settings)


@contextmanager
def running_chat(prefix: str) -> Iterator[httpx.Client]:
    """Start the assistant (training the model first if it is stale), warm it
    up, and yield an HTTP client for its front door; stop it afterwards."""
    scratch = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    stack = Stack(bench_settings(scratch), train(), log_dir=scratch)
    stack.start()
    try:
        stack.wait_ready()
        stack.warm_up()
        with httpx.Client(base_url=stack.web_url, timeout=60) as client:
            yield client
    finally:
        stack.stop()


def new_sender() -> str:
    """A conversation id as the widget makes one: 128 random bits (28 characters)."""
    return f"bench-{secrets.token_urlsafe(16)}"


@dataclass(frozen=True)
class Turn:
    """What the assistant sent back for one message, and how long it took."""

    messages: list[dict[str, Any]]
    ms: float

    @property
    def custom(self) -> dict[str, Any]:
        """The `custom` of the message that carries the turn's kind."""
        return next((m["custom"] for m in self.messages if "kind" in (m.get("custom") or {})), {})

    @property
    def kind(self) -> str:
        return self.custom.get("kind", "none")

    @property
    def languages(self) -> set[str]:
        """The languages messages of the turn are marked as written in
        (`custom.language`, which the widget gives screen readers): an English
        note before a Danish message marks that note, not the turn's kind."""
        return {m["custom"]["language"] for m in self.messages if "language" in (m.get("custom") or {})}


def send(client: httpx.Client, sender: str, text: str, metadata: dict[str, str]) -> Turn:
    started = time.perf_counter()
    response = client.post("/api/chat", json={"sender": sender, "message": text, "metadata": metadata})
    response.raise_for_status()
    return Turn(response.json(), (time.perf_counter() - started) * 1000)
