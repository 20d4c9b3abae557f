"""GET /health: is every part ready? GET /health/live: is the front door up?"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from bot.api.monitor import OK, UNAVAILABLE
from bot.api.schemas import Health, RasaInstanceHealth
from bot.api.state import StateDep
from bot.handoff import rasa_queue
from bot.storage.db import ping, session_scope

router = APIRouter(tags=["health"])


def _db() -> tuple[str, int | None]:
    """The database's state, and how many events wait for Rasa."""
    try:
        ping()
        with session_scope() as session:
            return OK, rasa_queue.backlog(session)
    except Exception:  # any driver error means the database is not usable
        return UNAVAILABLE, None


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
async def health(state: StateDep) -> JSONResponse:
    """200 when every Rasa instance (with a model), the action server and the
    database answer. Otherwise 503 with `status` "degraded" and the failing
    part named: the front door still answers (a live chat with a caseworker
    goes on, and turns go to the Rasa instances that serve)."""
    parts = await state.monitor.check()
    db, queued = await run_in_threadpool(_db)
    ready = parts.down() is None and db == OK
    body = Health(
        status=OK if ready else "degraded",
        rasa=parts.rasa,
        rasa_instances=[RasaInstanceHealth(url=url, status=status) for url, status in parts.rasa_instances.items()],
        actions=parts.actions,
        db=db,
        model=parts.model,
        queued_for_rasa=queued,
    )
    return JSONResponse(status_code=200 if ready else 503, content=body.model_dump())


@router.get("/health/live", summary="Is the front door itself up?")
async def live() -> dict[str, str]:
    """200 while the front door runs, whatever the other parts do (for supervisors)."""
    return {"status": OK}
