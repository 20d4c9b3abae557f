"""All settings, read once from the environment (and an optional .env file).

Every process (front door, action server, CLIs, runner) reads its
configuration here; nothing else calls os.environ for settings.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.opening_hours import parse_hours
from bot.taxonomy import Municipality

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OPENING_HOURS = "man-fre 09:00-15:00"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Where the three processes listen. Loopback unless told otherwise.
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    rasa_host: str = "127.0.0.1"
    rasa_port: int = 5005
    actions_host: str = "127.0.0.1"
    actions_port: int = 5055
    #: Rasa servers on the same model; instance i listens on RASA_PORT + i.
    #: More than one needs the PostgreSQL tracker store and the Redis lock store.
    rasa_instances: int = Field(default=1, ge=1)
    #: Front-door worker processes (uvicorn --workers). More than one needs
    #: PostgreSQL for our database.
    web_workers: int = Field(default=1, ge=1)

    #: Token for Rasa's HTTP API and the front door's channel into Rasa.
    #: `make run` generates one per start when unset.
    rasa_token: SecretStr | None = None
    #: Token Rasa shows the action server (which refuses calls without it).
    #: `make run` generates one per start when unset.
    actions_token: SecretStr | None = None
    #: Seconds the front door waits for Rasa's answer to a turn before it
    #: answers 503 with the municipality's contact route.
    rasa_timeout: float = 8.0
    #: Turns one front-door worker sends one Rasa instance at a time; more
    #: wait in the front door in the order they came (bot/api/rasa_client.py).
    rasa_turns_in_flight: int = Field(default=8, ge=1)
    #: Addresses of the reverse proxy whose X-Forwarded-For and
    #: X-Forwarded-Proto the front door believes (the login throttle counts
    #: failures per client address); comma-separated, "*" trusts any.
    forwarded_allow_ips: str = "127.0.0.1"
    #: Web origins (e.g. https://gladsaxe.dk) whose pages may embed the widget
    #: and call the chat API from the browser. Empty: same origin only.
    allowed_origins: list[str] = Field(default_factory=list)

    #: Our database: handoff cases, caseworkers, audit log, message outbox.
    database_url: str = f"sqlite:///{ROOT / 'var' / 'app.db'}"
    #: Rasa's tracker store, as a SQLAlchemy URL. Used by Rasa (through
    #: endpoints.yml) and by the erasure command.
    tracker_database_url: str = f"sqlite:///{ROOT / 'var' / 'rasa_tracker.db'}"
    #: Redis URL for Rasa's lock store; empty means the in-memory lock store
    #: (one Rasa instance only).
    lock_store_url: str = ""

    knowledge_dir: Path = ROOT / "knowledge"
    models_dir: Path = ROOT / "models"
    var_dir: Path = ROOT / "var"

    log_level: str = "INFO"
    #: "console" for people, "json" for log collectors.
    log_format: str = "console"
    #: Salt for hashing sender ids in logs. Set it in production.
    sender_hash_salt: SecretStr = SecretStr("jobcenter-assistenten")

    #: Days a closed handoff case keeps its personal data before purge, and
    #: turn records and feedback (bot/insights) are kept.
    retention_days: int = Field(default=30, ge=1)
    #: Record every bot turn for the insights page (false only to measure
    #: what recording costs: bench/turn_record.py).
    record_turns: bool = True
    #: When caseworkers answer in the chat, per municipality, as JSON, e.g.
    #: {"gladsaxe": "man-tor 09:00-15:00; fre 09:00-13:00"}. Set each
    #: municipality's real hours; outside them citizens can ask for a callback.
    opening_hours: dict[Municipality, str] = Field(
        default_factory=lambda: dict.fromkeys(Municipality, DEFAULT_OPENING_HOURS)
    )
    #: Mark cookies Secure (HTTPS only). Unset: Secure unless the front door
    #: listens on loopback (see `use_secure_cookies`); true or false always wins.
    secure_cookies: bool | None = None
    #: Failed logins within `login_window_minutes` before further attempts
    #: are refused: per username, and (higher, as an office shares one
    #: address) per client address.
    login_max_failures: int = 5
    login_max_failures_per_client: int = 30
    login_window_minutes: int = 15

    @field_validator("opening_hours")
    @classmethod
    def _valid_hours(cls, hours: dict[Municipality, str]) -> dict[Municipality, str]:
        for spec in hours.values():
            parse_hours(spec)
        return {**dict.fromkeys(Municipality, DEFAULT_OPENING_HOURS), **hours}

    @property
    def use_secure_cookies(self) -> bool:
        """SECURE_COOKIES when set; otherwise true unless the front door is served on loopback only."""
        if self.secure_cookies is not None:
            return self.secure_cookies
        return not _is_loopback(self.web_host)

    @property
    def rasa_urls(self) -> list[str]:
        """Every Rasa instance's URL, the first on RASA_PORT."""
        return [f"http://{self.rasa_host}:{self.rasa_port + i}" for i in range(self.rasa_instances)]

    @property
    def rasa_url(self) -> str:
        return self.rasa_urls[0]

    @property
    def actions_url(self) -> str:
        return f"http://{self.actions_host}:{self.actions_port}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name other than localhost
        return False


@lru_cache
def get_settings() -> Settings:
    return Settings()
