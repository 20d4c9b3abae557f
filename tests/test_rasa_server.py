"""bot/rasa_server.py's changes to Rasa, run in Rasa's own environment: the
one-validator check of action server responses (against Rasa's
RemoteAction), the table of event types (against Rasa's own lookup), the
hidden conversation ids and the kept connections to the action server."""

from __future__ import annotations

from bench.chat import free_ports
from tests.conftest import run_in_rasa

CHECK = """
import json
from unittest import mock

import jsonschema
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_server import check_action_results_with_one_validator

check_action_results_with_one_validator()
action = RemoteAction("action_answer", EndpointConfig("http://127.0.0.1:1"))
valid = {"events": [{"event": "slot", "name": "topic", "value": "fleksjob"}], "responses": [{"text": "Hej"}]}
with mock.patch("jsonschema.validate", wraps=jsonschema.validate) as rasas_check:
    accepted = action._validate_action_result(valid)
    checked_valid = rasas_check.call_count
    try:
        action._validate_action_result({"events": "ikke en liste"})
        refused = False
    except jsonschema.ValidationError:
        refused = True
print(json.dumps({"accepted": accepted, "rasa_checks_for_valid": checked_valid, "refused": refused}))
"""


EVENT_TYPES = """
import json

import rasa.shared.utils.common
from rasa.shared.core.events import Event, UserUttered

from bot.rasa_server import resolve_event_types_from_a_table

names = sorted({cls.type_name for cls in rasa.shared.utils.common.all_subclasses(Event)})
rasas = {name: Event.resolve_by_type(name).__name__ for name in names}
resolve_event_types_from_a_table()
ours = {name: Event.resolve_by_type(name).__name__ for name in names}
try:
    Event.resolve_by_type("no_such_event")
    unknown = "no error"
except ValueError as error:
    unknown = str(error)
print(json.dumps({
    "names": len(names),
    "same": ours == rasas,
    "topic": Event.resolve_by_type("topic"),
    "default": Event.resolve_by_type("no_such_event", UserUttered).__name__,
    "unknown": unknown,
}))
"""


def test_every_stored_event_type_resolves_to_rasas_own_class_through_the_table() -> None:
    result = run_in_rasa(EVENT_TYPES)
    assert result["names"] > 20 and result["same"]
    assert result["topic"] is None and result["default"] == "UserUttered"
    assert result["unknown"] == "Unknown event name 'no_such_event'."


def test_a_valid_response_skips_rasas_per_call_check_and_an_invalid_one_still_gets_rasas_error() -> None:
    result = run_in_rasa(CHECK)
    assert result == {"accepted": True, "rasa_checks_for_valid": 0, "refused": True}


HIDDEN_IDS = """
import json
import logging

from bot.rasa_server import hide_conversation_ids

seen = []
handler = logging.Handler()
handler.emit = lambda record: seen.append(record.getMessage())
logger = logging.getLogger("rasa.core.processor")
logger.addHandler(handler)
hide_conversation_ids()
sender = "test-xE7G57OkVRWdQ1-uYSIvpw"
logger.warning("Circuit breaker tripped. Stopped predicting more actions for sender '%s'.", sender)
logger.warning('Could not get lock for conversation "%s".', sender)
logger.warning("Failed to execute custom action '%s'.", "action_answer")
print(json.dumps(seen))
"""


def test_rasas_warnings_never_name_the_conversation():
    """Rasa's circuit-breaker warning names the sender; the log gets <hidden>."""
    seen = run_in_rasa(HIDDEN_IDS)
    assert seen == [
        "Circuit breaker tripped. Stopped predicting more actions for sender '<hidden>'.",
        'Could not get lock for conversation "<hidden>".',
        "Failed to execute custom action 'action_answer'.",
    ]


KEPT_CONNECTIONS = """
import asyncio
import json

from aiohttp import web
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_server import keep_connections_to_the_action_server

async def calls(port: int) -> int:
    seen = set()

    async def webhook(request: web.Request) -> web.Response:
        seen.add(request.transport.get_extra_info("peername")[1])
        return web.json_response({"events": [], "responses": []})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook", headers={"X-Actions-Token": "t"})
    answers = [await endpoint.request(json={"next_action": "action_answer"}, method="post") for _ in range(5)]
    assert answers == [{"events": [], "responses": []}] * 5
    await runner.cleanup()
    return len(seen)

async def both(ports) -> dict:
    rasas = await calls(ports[0])
    keep_connections_to_the_action_server()
    return {"rasa": rasas, "kept": await calls(ports[1])}

print(json.dumps(asyncio.run(both(PORTS))))
"""


def test_rasa_calls_the_action_server_over_one_kept_connection() -> None:
    """Rasa's own endpoint opens a connection per call; with the change, five calls share one."""
    port = free_ports(2)
    assert run_in_rasa(KEPT_CONNECTIONS.replace("PORTS", repr((port, port + 1)))) == {"rasa": 5, "kept": 1}
