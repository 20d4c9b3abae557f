"""POST /api/feedback: the optional comment after a "nej" to "Var svaret en hjælp?".

The "nej" itself is a chat turn (the feedback button); its reply carries
`custom.invite_comment`. The comment goes here, not through Rasa: it is
masked (CPR, phone, e-mail) and stored with that "nej", on the turn
recorder's thread after the turns before it.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from bot.api.schemas import ErrorBody, FeedbackComment, FeedbackThanks
from bot.api.state import StateDep
from bot.insights.records import attach_comment

router = APIRouter(prefix="/api", tags=["chat"])

THANKS = "Tak for din kommentar. Vi bruger den til at gøre svarene bedre."
NOTHING_TO_COMMENT = "Der er ikke noget svar at kommentere lige nu. Du kan skrive til assistenten igen."


@router.post(
    "/feedback",
    response_model=FeedbackThanks,
    responses={404: {"model": ErrorBody}, 422: {"model": ErrorBody}},
    summary="Comment on an answer that did not help",
)
async def comment(body: FeedbackComment, state: StateDep) -> FeedbackThanks | JSONResponse:
    """Add a short comment to the conversation's latest "nej" (within an
    hour of it). 404 when there is no such "nej" without a comment."""
    sender_hash = state.chat.sender_hash(body.sender)

    def attach(session: Session) -> bool:
        return attach_comment(session, sender_hash, body.comment)

    if not await asyncio.wrap_future(state.recorder.submit(attach)):
        return JSONResponse(status_code=404, content={"detail": NOTHING_TO_COMMENT})
    return FeedbackThanks(text=THANKS)
