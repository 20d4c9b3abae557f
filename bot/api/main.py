"""The FastAPI app: chat API, health, and (later) widget and caseworker app."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from bot.api.chat_service import ChatService
from bot.api.errors import install_error_handlers
from bot.api.limits import BodyLimit
from bot.api.monitor import Monitor
from bot.api.rasa_client import RasaClient
from bot.api.rasa_sync import RasaSync
from bot.api.routes import chat, feedback, health, outbox
from bot.api.state import AppState
from bot.api.streams import StreamHub
from bot.caseworker import routes as caseworker
from bot.insights.recorder import TurnRecorder
from bot.knowledge import reload as knowledge_reload
from bot.knowledge.service import get_engine
from bot.logs import configure_logging
from bot.settings import Settings, get_settings
from bot.web import routes as web


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rasa = RasaClient(settings)
        recorder = TurnRecorder()
        recorder.start()
        async with httpx.AsyncClient() as http:
            get_engine()  # built before the first turn
            monitor, sync = Monitor(settings, rasa, http), RasaSync(rasa)
            chat = ChatService(settings, rasa, sync, monitor, recorder if settings.record_turns else None)
            streams = StreamHub(settings.database_url)
            app.state.services = AppState(settings, rasa, chat, http, monitor, sync, recorder, streams)
            runs = (monitor.run(), sync.run(), streams.run(), knowledge_reload.follow())
            tasks = [asyncio.create_task(run) for run in runs]
            yield
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await rasa.close()
        await asyncio.to_thread(recorder.stop)

    app = FastAPI(
        title="Jobcenter-assistenten",
        description="Front door of the Danish job-centre assistant: chat API, health and caseworker app.",
        version="1.0",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(BodyLimit)
    if settings.allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.allowed_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "Last-Event-ID"],
        )
    app.include_router(chat.router)
    app.include_router(feedback.router)
    app.include_router(outbox.router)
    app.include_router(health.router)
    caseworker.install(app)
    app.include_router(web.router)
    web.mount_static(app)
    return app


app = create_app()
