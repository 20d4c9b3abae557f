"""The running front door's shared objects (one per worker), and the
dependency that hands them to routes: `state: StateDep`. The API, the
caseworker app and the web pages all take them from here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import httpx
from fastapi import Depends, Request

from bot.api.chat_service import ChatService
from bot.api.monitor import Monitor
from bot.api.rasa_client import RasaClient
from bot.api.rasa_sync import RasaSync
from bot.api.streams import StreamHub
from bot.insights.recorder import TurnRecorder
from bot.knowledge import service as knowledge
from bot.knowledge.engine import Engine
from bot.settings import Settings


@dataclass
class AppState:
    settings: Settings
    rasa: RasaClient
    chat: ChatService
    http: httpx.AsyncClient
    monitor: Monitor
    sync: RasaSync
    recorder: TurnRecorder
    streams: StreamHub

    @property
    def engine(self) -> Engine:
        """The knowledge engine in use now (a reload replaces it: bot/knowledge/reload.py)."""
        return knowledge.get_engine()


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.services
    return state


async def _state(request: Request) -> AppState:
    """The dependency is async, so FastAPI runs it on the event loop, not in a worker thread."""
    return get_state(request)


StateDep = Annotated[AppState, Depends(_state)]
