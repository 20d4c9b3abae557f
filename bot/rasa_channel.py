"""Rasa's input channel for the front door (runs inside the Rasa process).

Rasa's own REST channel takes a message from anyone who can reach the port,
and logs the message text when a turn fails or times out. This channel is
the REST channel with two changes:

- a request must carry the front door's token in the `X-Frontdoor-Token`
  header, so nothing reaches the dialogue without the front door's CPR
  masking (403 otherwise);
- a failed turn answers 500 and is logged without the text or the sender;
- the front door's `message_id` becomes the user message's id in the
  tracker, so a turn whose answer was lost can be found there.

credentials.yml names it; the token comes from RASA_TOKEN.
"""

from __future__ import annotations

import hmac
import logging
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

TOKEN_HEADER = "X-Frontdoor-Token"
logger = logging.getLogger(__name__)


class FrontDoorInput(InputChannel):
    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("the front door channel needs a token (RASA_TOKEN)")
        self.token = token

    @classmethod
    def name(cls) -> str:
        return "frontdoor"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls(str((credentials or {}).get("token") or ""))

    def _authorised(self, request: Request) -> bool:
        return hmac.compare_digest(request.headers.get(TOKEN_HEADER, ""), self.token)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("frontdoor_webhook", __name__)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self._authorised(request):
                return response.json({"error": "forbidden"}, status=403)
            body = request.json if isinstance(request.json, dict) else {}
            sender, text = body.get("sender"), body.get("message")
            if not isinstance(sender, str) or not isinstance(text, str):
                return response.json({"error": "sender and message are required"}, status=400)
            collector = CollectingOutputChannel()
            message_id = body.get("message_id") if isinstance(body.get("message_id"), str) else None
            message = UserMessage(
                text, collector, sender, input_channel=self.name(), message_id=message_id, metadata=body.get("metadata")
            )
            try:
                await on_new_message(message)
            except CancelledError:
                logger.error("The turn was cancelled (timeout).")
                return response.json({"error": "timeout"}, status=504)
            except Exception as exc:  # any failure of the turn; never log the text or sender
                logger.error("The turn failed: %s", type(exc).__name__)
                return response.json({"error": "turn failed"}, status=500)
            return response.json(collector.messages)

        return webhook
