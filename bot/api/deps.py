"""Shared objects of the running app, for route dependencies."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from fastapi import Request

from bot.api.chat import ChatService
from bot.api.monitor import Monitor
from bot.api.rasa_client import RasaClient
from bot.api.rasa_sync import RasaSync
from bot.knowledge.engine import Engine
from bot.settings import Settings


@dataclass
class AppState:
    settings: Settings
    rasa: RasaClient
    chat: ChatService
    engine: Engine
    http: httpx.AsyncClient
    monitor: Monitor
    sync: RasaSync


def get_state(request: Request) -> AppState:
    return request.app.state.services
