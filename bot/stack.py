"""Run the three processes: Rasa, the action server and the front door.

    python -m bot.stack      # what `make run` runs

Starts the action server, Rasa (REST channel; HTTP API only with a token)
and the web app, all bound to the hosts in bot/settings.py (loopback by
default); waits until each is ready; warms the model with one real turn; and
stops all three cleanly on Ctrl-C or SIGTERM. Children are started in their
own session and die with the runner (PR_SET_PDEATHSIG), so none is orphaned.
The integration tests use the same class on free ports.
"""

from __future__ import annotations

import ctypes
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from alembic import command
from alembic.config import Config
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from bot.model import RASA, RASA_QUIET_ENV, train
from bot.settings import ROOT, Settings, get_settings
from bot.storage.tracker import delete_tracker

PYTHON = ROOT / ".venv" / "bin" / "python"
STOP_GRACE_SECONDS = 10
START_TIMEOUT_SECONDS = 300
WARMUP_QUESTION = "Hvad er et fleksjob?"
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the runner dies, however it dies."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings as environment variables, so every child reads the same."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump(mode="json").items():
        raw = getattr(settings, name)
        if raw is None:
            continue
        if isinstance(raw, SecretStr):
            value = raw.get_secret_value()
        elif isinstance(value, dict | list):
            value = json.dumps(value)
        env[name.upper()] = str(value)
    return env


def rasa_endpoints(settings: Settings) -> tuple[Path, dict[str, str]]:
    """The endpoints file for Rasa and the variables it reads."""
    env = {"RASA_ACTION_ENDPOINT": f"{settings.actions_url}/webhook"}
    tracker = make_url(settings.tracker_database_url)
    if tracker.get_backend_name() == "sqlite":
        Path(tracker.database or "").parent.mkdir(parents=True, exist_ok=True)
        return ROOT / "endpoints.yml", {**env, "RASA_TRACKER_DB": tracker.database or ""}
    if not settings.lock_store_url:
        raise SystemExit("LOCK_STORE_URL (Redis) must be set when TRACKER_DATABASE_URL is not SQLite.")
    lock = make_url(settings.lock_store_url)
    env |= {
        "RASA_TRACKER_DIALECT": tracker.get_backend_name(),
        "RASA_TRACKER_HOST": tracker.host or "localhost",
        "RASA_TRACKER_PORT": str(tracker.port or 5432),
        "RASA_TRACKER_DB": tracker.database or "",
        "RASA_TRACKER_USER": tracker.username or "",
        "RASA_TRACKER_PASSWORD": tracker.password or "",
        "RASA_LOCK_HOST": lock.host or "localhost",
        "RASA_LOCK_PORT": str(lock.port or 6379),
        "RASA_LOCK_DB": lock.database or "0",
    }
    return ROOT / "endpoints.production.yml", env


def migrate(database_url: str) -> None:
    """Bring our database to the newest Alembic revision."""
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url
    command.upgrade(config, "head")


@dataclass
class Stack:
    settings: Settings
    model: Path
    log_dir: Path | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def _env(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("VIRTUAL_ENV")}
        return {
            **base,
            **settings_env(self.settings),
            **RASA_QUIET_ENV,
            "PYTHONUNBUFFERED": "1",
        }

    def _spawn(self, name: str, args: list[str], extra_env: dict[str, str] | None = None) -> None:
        output = None
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = (self.log_dir / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**self._env(), **(extra_env or {})},
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    def start_actions(self) -> None:
        s = self.settings
        self._spawn(
            "actions",
            [str(PYTHON), "-m", "rasa_sdk", "--actions", "actions", "--port", str(s.actions_port)],
            {"SANIC_HOST": s.actions_host},
        )

    def start_rasa(self, port: int | None = None, name: str = "rasa") -> None:
        """Start a Rasa instance (another `port` and `name` start a second one)."""
        s = self.settings
        endpoints, env = rasa_endpoints(s)
        token = s.rasa_token.get_secret_value() if s.rasa_token else ""
        args = [
            str(RASA),
            "run",
            "--model",
            str(self.model),
            "--interface",
            s.rasa_host,
            "--port",
            str(port or s.rasa_port),
            "--endpoints",
            str(endpoints),
            "--credentials",
            str(ROOT / "credentials.yml"),
        ]
        if token:
            args += ["--enable-api", "--auth-token", token]
        self._spawn(name, args, env)

    def start_web(self) -> None:
        s = self.settings
        self._spawn(
            "web",
            [
                str(PYTHON),
                "-m",
                "uvicorn",
                "bot.api.main:app",
                "--host",
                s.web_host,
                "--port",
                str(s.web_port),
                "--no-access-log",
                "--ws",
                "none",
            ],
        )

    def start(self) -> None:
        migrate(self.settings.database_url)
        self.start_actions()
        self.start_rasa()
        self.start_web()

    def stop_process(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop(self) -> None:
        for name in ["web", *sorted(n for n in self.processes if n.startswith("rasa")), "actions"]:
            self.stop_process(name)

    @property
    def web_url(self) -> str:
        return f"http://{self.settings.web_host}:{self.settings.web_port}"

    def wait_ready(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Wait until /health says every part is ready; fail if a child dies."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} stopped with exit code {process.returncode}")
            try:
                if httpx.get(f"{self.web_url}/health", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        raise TimeoutError(f"the assistant was not ready within {timeout:.0f} seconds")

    def warm_up(self) -> None:
        """Run one real turn so the first user's turn is not slower, then
        erase the warm-up conversation."""
        sender = f"warmup-{secrets.token_hex(8)}"
        body = {"sender": sender, "message": WARMUP_QUESTION, "metadata": {"municipality": "gladsaxe"}}
        httpx.post(f"{self.web_url}/api/chat", json=body, timeout=120).raise_for_status()
        delete_tracker(self.settings.tracker_database_url, sender)


def main() -> int:
    settings = get_settings()
    if settings.rasa_token is None:
        settings = settings.model_copy(update={"rasa_token": SecretStr(secrets.token_urlsafe(24))})
    model = train()
    stack = Stack(settings, model)

    def _stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    # Installed explicitly: a shell that starts us in the background hands
    # down SIGINT as ignored, and Ctrl-C must still stop all three processes.
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        print("Starting the action server, Rasa and the web app ...", flush=True)
        stack.start()
        stack.wait_ready()
        stack.warm_up()
        print(f"\nJobcenter-assistenten is ready: open {stack.web_url}/ in a browser.", flush=True)
        print(f"API documentation: {stack.web_url}/docs. Stop with Ctrl-C.\n", flush=True)
        while all(p.poll() is None for p in stack.processes.values()):
            time.sleep(1)
        failed = [name for name, p in stack.processes.items() if p.poll() is not None]
        print(f"Stopped because {', '.join(failed)} exited.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping ...", flush=True)
        return 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
