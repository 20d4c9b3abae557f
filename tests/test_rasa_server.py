"""bot/rasa_server.py's one-validator check of action server responses,
run in Rasa's own environment against Rasa's RemoteAction."""

from __future__ import annotations

import json
import subprocess

from bot.model import RASA_PYTHON, RASA_QUIET_ENV
from bot.settings import ROOT

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


def test_a_valid_response_skips_rasas_per_call_check_and_an_invalid_one_still_gets_rasas_error() -> None:
    done = subprocess.run(
        [str(RASA_PYTHON), "-c", CHECK],
        cwd=ROOT,
        env={**RASA_QUIET_ENV, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"accepted": True, "rasa_checks_for_valid": 0, "refused": True}
