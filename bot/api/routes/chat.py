"""POST /api/chat: one user message in, the bot's messages out."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from bot.api.rasa_client import RasaUnavailableError
from bot.api.schemas import BotReply, ChatRequest, ErrorBody
from bot.api.state import StateDep
from bot.dialogue.contact import contact_route

router = APIRouter(prefix="/api", tags=["chat"])

UNAVAILABLE = "Assistenten kan ikke svare lige nu. Prøv igen om lidt."


@router.post(
    "/chat",
    response_model=list[BotReply],
    response_model_exclude_none=True,
    responses={422: {"model": ErrorBody}, 503: {"model": ErrorBody}},
    summary="Send a message and get the assistant's reply",
)
async def chat(request: ChatRequest, background: BackgroundTasks, state: StateDep) -> Any:
    """Send one user message. The reply is the turn's bot messages in Rasa's
    REST output shape; exactly one of them carries `custom.kind`."""
    try:
        result = await state.chat.handle(request)
    except (RasaUnavailableError, SQLAlchemyError):
        route = contact_route(state.engine.kb, request.metadata.municipality)
        return JSONResponse(status_code=503, content={"detail": f"{UNAVAILABLE}\n{route}"})
    state.streams.after_turn(request.sender)
    background.add_task(state.chat.log_turn, request.sender, result)
    return result.messages
