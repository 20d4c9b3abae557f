"""GET /health: is every part ready?"""

from __future__ import annotations

import asyncio
from pathlib import PurePath
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from bot.api.deps import AppState, get_state
from bot.api.rasa_client import RasaUnavailableError
from bot.api.schemas import Health
from bot.storage.db import ping

router = APIRouter(tags=["health"])
OK = "ok"


async def _rasa(state: AppState) -> tuple[str, str | None]:
    try:
        status = await state.rasa.status()
    except RasaUnavailableError:
        return "unavailable", None
    model_file = status.get("model_file")
    if not model_file:
        return "no model loaded", None
    return OK, PurePath(model_file).name.removesuffix(".tar.gz")


async def _actions(state: AppState) -> str:
    try:
        response = await state.http.get(f"{state.settings.actions_url}/health", timeout=5)
        response.raise_for_status()
    except httpx.HTTPError:
        return "unavailable"
    return OK


async def _db() -> str:
    try:
        await run_in_threadpool(ping)
    except Exception:  # any driver error means the database is not usable
        return "unavailable"
    return OK


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
async def health(state: Annotated[AppState, Depends(get_state)]) -> JSONResponse:
    """200 when Rasa (with a model), the action server and the database answer;
    503 naming the failing part otherwise."""
    (rasa, model), actions, db = await asyncio.gather(_rasa(state), _actions(state), _db())
    ready = rasa == actions == db == OK
    body = Health(status=OK if ready else "unavailable", rasa=rasa, actions=actions, db=db, model=model)
    return JSONResponse(status_code=200 if ready else 503, content=body.model_dump())
