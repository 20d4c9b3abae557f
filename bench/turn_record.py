"""What the turn record costs a turn: /api/chat latency with and without it,
measured in one run against the same Rasa and action server.

    python -m bench.turn_record [--turns 60]

Starts the action server and Rasa once (temporary databases, the trained
model) and two front doors: one records every turn (the default), one has
RECORD_TURNS=false. The same questions go to both, alternating turn by turn,
so both see the same load; the client's time for each POST /api/chat is
measured. Prints p50, p90 and mean per front door as JSON.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bot.model import model_path
from bot.settings import get_settings
from bot.stack import Stack, new_token, web_command

QUESTIONS = (
    "Hvad er et fleksjob?",
    "Kan jeg få løntilskud?",
    "Hvordan passer jeg min undulat?",
    "Hvad er mine pligter, når jeg får kontanthjælp?",
    "Vi vil gerne ansætte en medarbejder i praktik",
    "asdfgh",
)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ready(url: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise TimeoutError(url)


def _turn(client: httpx.Client, url: str, sender: str, message: str) -> float:
    body = {"sender": sender, "message": message, "metadata": {"municipality": "gladsaxe"}}
    started = time.perf_counter()
    client.post(f"{url}/api/chat", json=body, timeout=60).raise_for_status()
    return (time.perf_counter() - started) * 1000


def _summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "p50_ms": round(statistics.median(ordered), 1),
        "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))], 1),
        "mean_ms": round(statistics.fmean(ordered), 1),
        "turns": len(ordered),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=60, help="turns per front door (default 60)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-turn-record-"))
    settings = get_settings().model_copy(
        update={
            "web_port": _free_port(),
            "rasa_port": _free_port(),
            "actions_port": _free_port(),
            "database_url": f"sqlite:///{folder / 'app.db'}",
            "tracker_database_url": f"sqlite:///{folder / 'tracker.db'}",
            "var_dir": folder,
            "rasa_token": new_token(),
            "actions_token": new_token(),
        }
    )
    unrecorded = settings.model_copy(update={"web_port": _free_port(), "record_turns": False})
    stack = Stack(settings, model_path(), log_dir=folder / "logs")
    stack.start()
    stack.add("web-unrecorded", web_command(unrecorded))
    try:
        stack.wait_ready()
        urls = {"with_record": stack.web_url, "without_record": f"http://127.0.0.1:{unrecorded.web_port}"}
        _ready(urls["without_record"])
        times: dict[str, list[float]] = {name: [] for name in urls}
        with httpx.Client() as client:
            for url in urls.values():  # warm both up
                _turn(client, url, f"warmup-{secrets.token_hex(12)}", QUESTIONS[0])
            for n in range(args.turns):
                message = QUESTIONS[n % len(QUESTIONS)]
                for name, url in urls.items() if n % 2 else reversed(urls.items()):
                    sender = f"bench-{name}-{n // len(QUESTIONS)}-{secrets.token_hex(8)}"
                    times[name].append(_turn(client, url, sender, message))
        print(json.dumps({name: _summary(values) for name, values in times.items()}, indent=2))
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
