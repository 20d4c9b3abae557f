"""Bring our database to the newest Alembic revision (migrations/)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from bot.settings import ROOT


def migrate(database_url: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url
    command.upgrade(config, "head")
