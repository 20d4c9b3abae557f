"""Start `rasa run` with its API token taken from the environment.

    .venv-rasa/bin/python -m bot.rasa_server --model models/x.tar.gz --port 5005 ...

Runs in Rasa's environment. Every argument is passed on to `rasa run`; the
token (RASA_TOKEN) is added inside this process, so it never appears in the
process list (/proc/PID/cmdline is readable by every local user, the
environment only by the owner). `--auth-token=<token>` keeps a token that
begins with "-" from being read as an option.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
from typing import Any

import aiohttp
import rasa.shared.utils.common
from jsonschema import validators
from rasa.__main__ import main
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event
from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

from bot.keep_alive import RASA_CLIENT_SECONDS


def check_action_results_with_one_validator() -> None:
    """Rasa checks every action server response with jsonschema.validate,
    which checks the schema itself and builds a validator each time (about
    a third of Rasa's CPU per turn). Build the validator once; an invalid
    response still goes through Rasa's own check and error."""
    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    rasas_own = RemoteAction._validate_action_result

    def validate(self: RemoteAction, result: dict[str, Any]) -> bool:
        return bool(validator.is_valid(result)) or rasas_own(self, result)

    RemoteAction._validate_action_result = validate


def resolve_event_types_from_a_table() -> None:
    """Rasa finds the class of every stored event it reads (each turn reads
    the whole session's events back from the tracker store) by walking all
    subclasses of Event, which makes a long conversation's turns slower and
    slower. Look the class up in a table instead, built from the same walk
    (the first class with a type name wins, as in Rasa's walk) and built
    again once when a name is missing; Rasa's own method answers what the
    table cannot (the old "topic" events, defaults and errors)."""
    rasas_own = Event.resolve_by_type
    table: dict[str, type[Event]] = {}

    def build() -> None:
        table.clear()
        for cls in rasa.shared.utils.common.all_subclasses(Event):
            table.setdefault(cls.type_name, cls)

    def resolve(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
        if type_name not in table:
            build()
        return table.get(type_name) or rasas_own(type_name, default)

    Event.resolve_by_type = staticmethod(resolve)


def keep_connections_to_the_action_server() -> None:
    """Rasa makes a new aiohttp session, and so a new TCP connection, for
    every call to the action server: 7% of its CPU per turn (py-spy under
    bench.load), and an accept for the action server. Give each endpoint
    one session for the life of the process, with Rasa's headers, login
    and time-out, whose idle connections are closed after
    RASA_CLIENT_SECONDS (bot/keep_alive.py)."""

    def session(self: EndpointConfig) -> Any:
        kept: aiohttp.ClientSession | None = getattr(self, "_kept_session", None)
        if kept is None or kept.closed:
            auth = (
                aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"]) if self.basic_auth else None
            )
            kept = aiohttp.ClientSession(
                headers=self.headers,
                auth=auth,
                timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(keepalive_timeout=RASA_CLIENT_SECONDS),
            )
            self._kept_session = kept
        return contextlib.nullcontext(kept)  # `async with` leaves it open

    EndpointConfig.session = session


#: Rasa names the conversation in some warnings ("Circuit breaker tripped.
#: Stopped predicting more actions for sender '<id>'"); a conversation id
#: must not reach a log.
_NAMED_CONVERSATION = re.compile(r"""\b(sender|conversation)([ _]id)?(\s*)(['"])[^'"]*\4""")


def hide_conversation_ids() -> None:
    """Every log record of this process gets its message with any quoted
    conversation id after "sender" or "conversation" replaced by <hidden>."""
    make_record = logging.getLogRecordFactory()

    def record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        made = make_record(*args, **kwargs)
        try:
            message = made.getMessage()
        except (TypeError, ValueError):  # a malformed call: logging reports it when it emits
            return made
        hidden = _NAMED_CONVERSATION.sub(r"\1\2\3\4<hidden>\4", message)
        if hidden != message:
            made.msg, made.args = hidden, None
        return made

    logging.setLogRecordFactory(record)


if __name__ == "__main__":
    token = os.environ.get("RASA_TOKEN", "")
    if not token:
        sys.exit("RASA_TOKEN must be set: the front door and Rasa share it.")
    hide_conversation_ids()
    check_action_results_with_one_validator()
    resolve_event_types_from_a_table()
    keep_connections_to_the_action_server()
    sys.argv = ["rasa", "run", *sys.argv[1:], "--enable-api", f"--auth-token={token}"]
    main()
