"""Start `rasa run` with its API token taken from the environment.

    .venv-rasa/bin/python -m bot.rasa_server --model models/x.tar.gz --port 5005 ...

Runs in Rasa's environment. Every argument is passed on to `rasa run`; the
token (RASA_TOKEN) is added inside this process, so it never appears in the
process list (/proc/PID/cmdline is readable by every local user, the
environment only by the owner). `--auth-token=<token>` keeps a token that
begins with "-" from being read as an option.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from jsonschema import validators
from rasa.__main__ import main
from rasa.core.actions.action import RemoteAction


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


if __name__ == "__main__":
    token = os.environ.get("RASA_TOKEN", "")
    if not token:
        sys.exit("RASA_TOKEN must be set: the front door and Rasa share it.")
    check_action_results_with_one_validator()
    sys.argv = ["rasa", "run", *sys.argv[1:], "--enable-api", f"--auth-token={token}"]
    main()
