"""The action server: the Rasa SDK's app for actions/, open only to Rasa.

    python -m bot.action_server

Rasa sends ACTIONS_TOKEN in the `X-Actions-Token` header (endpoints.yml);
every other call but /health is refused with 403, so nobody can run an
action (for example open a handoff case with a forged transcript) by
posting to the port. A failed action is logged by its error type only and
answered without echoing the request (the SDK's own handler returns the
whole tracker). The message that carries the turn's kind also gets the
intent and confidence Rasa read (`custom.nlu`), for the front door's log.
It rebuilds its knowledge index when `python -m bot.admin reload-knowledge`
asks, or on SIGHUP (bot/knowledge/reload.py).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import signal
from typing import Any

from rasa_sdk.endpoint import create_app
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.keep_alive import ACTION_SERVER_SECONDS
from bot.knowledge import reload as knowledge_reload
from bot.logs import configure_logging, get_logger, origin
from bot.settings import Settings, get_settings

TOKEN_HEADER = "X-Actions-Token"
OPEN_PATHS = frozenset({"/health"})
log = get_logger("bot.actions")


def build_app(settings: Settings) -> Sanic:
    if settings.actions_token is None:
        raise SystemExit("ACTIONS_TOKEN must be set: Rasa shows it to the action server.")
    token = settings.actions_token.get_secret_value()
    app: Sanic = create_app("actions", cors_origins=None)
    # Rasa keeps its connections here open (bot/rasa_server.py); it closes them first.
    app.config.KEEP_ALIVE_TIMEOUT = ACTION_SERVER_SECONDS

    @app.on_request
    async def only_rasa(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS or hmac.compare_digest(request.headers.get(TOKEN_HEADER, ""), token):
            return None
        return response.json({"error": "forbidden"}, status=403)

    @app.on_response
    async def tell_the_intent(request: Request, response: HTTPResponse) -> HTTPResponse | None:
        if request.path != "/webhook" or response.status != 200:
            return None
        return response_with_intent(request.json or {}, json.loads(response.body or b"{}"))

    @app.exception(Exception)
    async def failed(request: Request, exception: Exception) -> HTTPResponse:
        log.error("action_failed", error=type(exception).__name__, origin=origin(exception))
        return response.json({"error": "the action failed"}, status=500)

    @app.after_server_start
    async def reload_knowledge_when_asked(app: Sanic, loop: asyncio.AbstractEventLoop) -> None:
        """`bot.admin reload-knowledge` (through the database) or SIGHUP rebuilds the index."""
        app.ctx.watcher = loop.create_task(knowledge_reload.watch())
        loop.add_signal_handler(signal.SIGHUP, lambda: app.add_task(asyncio.to_thread(knowledge_reload.reload_now)))

    @app.before_server_stop
    async def stop_watching(app: Sanic, loop: asyncio.AbstractEventLoop) -> None:
        app.ctx.watcher.cancel()

    return app


def response_with_intent(call: dict[str, Any], result: dict[str, Any]) -> HTTPResponse:
    """The action's result, with the intent Rasa read in the turn's
    kind-carrying message (custom.nlu), so the front door can log and record
    the turn without fetching the tracker."""
    intent = ((call.get("tracker") or {}).get("latest_message") or {}).get("intent") or {}
    nlu = {"intent": intent.get("name"), "confidence": round(float(intent.get("confidence") or 0), 3)}
    for message in result.get("responses") or []:
        custom = message.get("custom")
        if isinstance(custom, dict) and custom.get("kind"):
            custom["nlu"] = nlu
            break
    return response.json(result)


def main() -> None:
    settings = get_settings()
    configure_logging()
    app = build_app(settings)
    app.run(settings.actions_host, settings.actions_port, access_log=False, workers=1)


if __name__ == "__main__":
    main()
