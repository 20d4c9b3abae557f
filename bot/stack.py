"""Run and supervise the three processes: Rasa, the action server and the front door.

    python -m bot.stack              # what `make run` runs
    python -m bot.stack exec PART    # exec one part (actions, rasa, web) in place,
                                     # for a process supervisor such as systemd

The runner starts the action server, Rasa (our front-door channel and its
HTTP API, both behind RASA_TOKEN; RASA_INSTANCES of them, on RASA_PORT,
RASA_PORT + 1, ...) and the web app (WEB_WORKERS processes), all bound to the
hosts in bot/settings.py (loopback by default), waits until each is ready, warms the
model with one real turn, and then supervises them: a child that exits is
restarted after a back-off (1, 2, 4 ... 30 seconds; back to 1 once it has
run for a minute), and a child that stops answering HTTP for
HUNG_SECONDS (stopped, deadlocked) is killed and restarted. The others go on
meanwhile, so a crash of Rasa does not end a caseworker's live chat. Ctrl-C or
SIGTERM stops all three. Children are started in their own session and die
with the runner (PR_SET_PDEATHSIG), so none is orphaned. The integration
tests use the same class on free ports.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import math
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import httpx
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from bot.api.rasa_client import TOKEN_HEADER, WEBHOOK
from bot.keep_alive import FRONT_DOOR_SECONDS
from bot.logs import configure_logging, get_logger
from bot.model import RASA_PYTHON, RASA_QUIET_ENV, model_path, train
from bot.settings import ROOT, Settings, get_settings
from bot.storage.migrate import migrate
from bot.storage.tracker import delete_tracker

PYTHON = ROOT / ".venv" / "bin" / "python"
STOP_GRACE_SECONDS = 10
START_TIMEOUT_SECONDS = 300
#: A running child that answers no HTTP request for this long is restarted.
HUNG_SECONDS = 20
PROBE_TIMEOUT_SECONDS = 2
#: Restart delays; the last one repeats. Back to the first after STABLE_SECONDS.
BACKOFF_SECONDS = (1, 2, 4, 8, 16, 30)
STABLE_SECONDS = 60
WARMUP_QUESTION = "Hvad er et fleksjob?"
_PR_SET_PDEATHSIG = 1

log = get_logger("bot.supervisor")


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the runner dies, however it dies."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def new_token() -> SecretStr:
    """A random token that never begins with "-" (hex digits only)."""
    return SecretStr(secrets.token_hex(24))


def with_tokens(settings: Settings) -> Settings:
    """The settings with a fresh RASA_TOKEN and ACTIONS_TOKEN where unset."""
    update = {name: new_token() for name in ("rasa_token", "actions_token") if getattr(settings, name) is None}
    return settings.model_copy(update=update) if update else settings


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
        # A conversation's lock outlives its turn when the instance that held
        # it died: Rasa's default lifetime (60 s) would block the conversation
        # a minute. The front door gives up on a turn after RASA_TIMEOUT.
        "TICKET_LOCK_LIFETIME": str(math.ceil(settings.rasa_timeout)),
    }
    return ROOT / "endpoints.production.yml", env


def refuse_unsafe_scale(settings: Settings) -> None:
    """Stop with a clear message when the settings ask for several Rasa
    instances or front-door workers on stores only one process may use."""
    shared_tracker = make_url(settings.tracker_database_url).get_backend_name() != "sqlite"
    if settings.rasa_instances > 1 and not (shared_tracker and settings.lock_store_url):
        raise SystemExit(
            "RASA_INSTANCES > 1 needs a shared tracker store and lock store: set TRACKER_DATABASE_URL "
            "(PostgreSQL) and LOCK_STORE_URL (Redis)."
        )
    if settings.web_workers > 1 and make_url(settings.database_url).get_backend_name() == "sqlite":
        raise SystemExit("WEB_WORKERS > 1 needs PostgreSQL: set DATABASE_URL to a PostgreSQL database.")


def rasa_name(index: int) -> str:
    """The runner's name for Rasa instance `index` (0, 1, ...): rasa, rasa-2, ..."""
    return "rasa" if index == 0 else f"rasa-{index + 1}"


def child_env(settings: Settings, extra: dict[str, str] | None = None) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("VIRTUAL_ENV")}
    return {**base, **settings_env(settings), **RASA_QUIET_ENV, "PYTHONUNBUFFERED": "1", **(extra or {})}


@dataclass(frozen=True)
class Command:
    """How to start one part: its arguments, environment and liveness URL."""

    argv: list[str]
    env: dict[str, str]
    probe_url: str


def actions_command(settings: Settings) -> Command:
    return Command(
        [str(PYTHON), "-m", "bot.action_server"],
        child_env(settings),
        f"{settings.actions_url}/health",
    )


def rasa_command(settings: Settings, model: Path, port: int | None = None) -> Command:
    endpoints, env = rasa_endpoints(settings)
    port = port or settings.rasa_port
    argv = [str(RASA_PYTHON), "-m", "bot.rasa_server", "--model", str(model), "--interface", settings.rasa_host]
    argv += ["--port", str(port), "--endpoints", str(endpoints), "--credentials", str(ROOT / "credentials.yml")]
    return Command(argv, child_env(settings, env), f"http://{settings.rasa_host}:{port}/")


def web_command(settings: Settings) -> Command:
    argv = [str(PYTHON), "-m", "uvicorn", "bot.api.main:app", "--host", settings.web_host]
    argv += ["--port", str(settings.web_port), "--no-access-log", "--ws", "none"]
    argv += ["--timeout-keep-alive", str(FRONT_DOOR_SECONDS)]
    argv += ["--proxy-headers", "--forwarded-allow-ips", settings.forwarded_allow_ips]
    if settings.web_workers > 1:
        argv += ["--workers", str(settings.web_workers)]
    return Command(argv, child_env(settings), f"http://{settings.web_host}:{settings.web_port}/health/live")


@dataclass
class Child:
    """One supervised process and what the supervisor knows of it."""

    name: str
    command: Command
    log_dir: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    answered_at: float | None = None
    ready_at: float | None = None
    restarts: int = 0
    restart_at: float | None = None

    def spawn(self) -> None:
        output = None
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = (self.log_dir / f"{self.name}.log").open("ab")
        self.process = subprocess.Popen(
            self.command.argv,
            cwd=ROOT,
            env=self.command.env,
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self.started_at = time.monotonic()
        self.answered_at = self.ready_at = self.restart_at = None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def answers(self) -> bool:
        try:
            httpx.get(self.command.probe_url, timeout=PROBE_TIMEOUT_SECONDS)
        except httpx.HTTPError:
            return False
        return True

    def stop(self) -> None:
        if not self.alive():
            return
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGTERM)
        os.killpg(self.process.pid, signal.SIGCONT)  # a stopped process must run to exit
        try:
            self.process.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def kill(self) -> None:
        if self.alive():
            assert self.process is not None
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def backoff(restarts: int) -> int:
    return BACKOFF_SECONDS[min(restarts, len(BACKOFF_SECONDS) - 1)]


@dataclass
class Stack:
    settings: Settings
    model: Path
    log_dir: Path | None = None
    children: dict[str, Child] = field(default_factory=dict)
    hung_seconds: float = HUNG_SECONDS
    _stopping: threading.Event = field(default_factory=threading.Event)
    _supervisor: threading.Thread | None = None

    @property
    def processes(self) -> dict[str, subprocess.Popen[bytes]]:
        return {name: child.process for name, child in self.children.items() if child.process is not None}

    def add(self, name: str, command: Command) -> None:
        """Start a child under this stack's supervision."""
        child = Child(name, command, self.log_dir)
        self.children[name] = child
        child.spawn()

    def start_actions(self) -> None:
        self.add("actions", actions_command(self.settings))

    def start_rasa(self, port: int | None = None, name: str = "rasa") -> None:
        """Start a Rasa instance (another `port` and `name` start a second one)."""
        self.add(name, rasa_command(self.settings, self.model, port))

    def start_web(self) -> None:
        self.add("web", web_command(self.settings))

    def start(self) -> None:
        refuse_unsafe_scale(self.settings)
        migrate(self.settings.database_url)
        self.start_actions()
        for index, url in enumerate(self.settings.rasa_urls):
            self.start_rasa(httpx.URL(url).port, rasa_name(index))
        self.start_web()

    def stop_process(self, name: str) -> None:
        child = self.children.pop(name, None)
        if child is not None:
            child.stop()

    def stop(self) -> None:
        self._stopping.set()
        if self._supervisor is not None:
            self._supervisor.join()
        # The front door first (no new turns), the action server last.
        for name in sorted(self.children, key=lambda n: (n == "actions", n != "web", n)):
            self.stop_process(name)

    # -- supervision ---------------------------------------------------------------

    def check(self, child: Child) -> None:
        """One look at a child: restart it when it exited or hangs."""
        now = time.monotonic()
        if not child.alive():
            self._restart_when_due(child, now)
            return
        if child.answers():
            child.answered_at = now
            if child.ready_at is None:
                child.ready_at = now
                if child.restarts:
                    log.info("child_ready", part=child.name, restarts=child.restarts)
            elif now - child.ready_at > STABLE_SECONDS:
                child.restarts = 0
            return
        silent_since = child.answered_at or child.started_at
        limit = self.hung_seconds if child.answered_at else START_TIMEOUT_SECONDS
        if now - silent_since > limit:
            log.warning("child_hung", part=child.name, silent_s=round(now - silent_since), action="kill")
            child.kill()

    def _restart_when_due(self, child: Child, now: float) -> None:
        if child.restart_at is None:
            delay = backoff(child.restarts)
            code = child.process.returncode if child.process else None
            log.warning("child_exited", part=child.name, exit_code=code, restart_in_s=delay)
            child.restart_at = now + delay
        elif now >= child.restart_at:
            child.restarts += 1
            log.warning("child_restarting", part=child.name, restarts=child.restarts)
            child.spawn()

    def supervise(self) -> None:
        """Check every child once a second until stop()."""
        while not self._stopping.is_set():
            for child in list(self.children.values()):
                if not self._stopping.is_set():
                    self.check(child)
            self._stopping.wait(1)

    def start_supervisor(self) -> None:
        """Supervise in a background thread (the tests use this)."""
        self._supervisor = threading.Thread(target=self.supervise, name="supervisor", daemon=True)
        self._supervisor.start()

    # -- readiness -----------------------------------------------------------------

    @property
    def web_url(self) -> str:
        return f"http://{self.settings.web_host}:{self.settings.web_port}"

    def wait_ready(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Wait until /health says every part is ready; fail if an unsupervised child dies."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if self._supervisor is None and process.poll() is not None:
                    raise RuntimeError(f"{name} stopped with exit code {process.returncode}")
            try:
                if httpx.get(f"{self.web_url}/health", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        raise TimeoutError(f"the assistant was not ready within {timeout:.0f} seconds")

    def warm_up(self) -> None:
        """Run one real turn on every Rasa instance and one through the front
        door, so no user's first turn is slower; then erase the warm-up
        conversations."""
        token = self.settings.rasa_token.get_secret_value() if self.settings.rasa_token else ""
        targets = [(f"{url}{WEBHOOK}", {TOKEN_HEADER: token}) for url in self.settings.rasa_urls]
        for url, headers in [*targets, (f"{self.web_url}/api/chat", {})]:
            sender = f"warmup-{secrets.token_hex(12)}"
            body = {"sender": sender, "message": WARMUP_QUESTION, "metadata": {"municipality": "gladsaxe"}}
            httpx.post(url, json=body, headers=headers, timeout=120).raise_for_status()
            delete_tracker(self.settings.tracker_database_url, sender)


def run() -> int:
    settings = with_tokens(get_settings())
    refuse_unsafe_scale(settings)
    stack = Stack(settings, train())

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
        stack.supervise()
    except KeyboardInterrupt:
        print("\nStopping ...", flush=True)
    finally:
        stack.stop()
    return 0


def exec_part(part: str, port: int | None) -> NoReturn:
    """Replace this process with one part, for systemd or another supervisor."""
    settings = get_settings()
    if settings.rasa_token is None or settings.actions_token is None:
        raise SystemExit("Set RASA_TOKEN and ACTIONS_TOKEN (the same in every part's environment).")
    refuse_unsafe_scale(settings)
    if part == "web":
        migrate(settings.database_url)
    if part == "rasa":
        model = model_path()
        if not model.exists():
            raise SystemExit(f"No trained model at {model}: run `python -m bot.model` first.")
        command = rasa_command(settings, model, port)
    else:
        command = actions_command(settings) if part == "actions" else web_command(settings)
    os.chdir(ROOT)
    os.execve(command.argv[0], command.argv, command.env)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot.stack", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command")
    one = commands.add_parser("exec", help="run one part in place (for systemd)")
    one.add_argument("part", choices=["actions", "rasa", "web"])
    one.add_argument("--port", type=int, help="Rasa's port (for several instances)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging()
    if args.command == "exec":
        exec_part(args.part, args.port)
    return run()


if __name__ == "__main__":
    sys.exit(main())
