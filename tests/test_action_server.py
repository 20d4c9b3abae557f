"""The action server's own additions to the Rasa SDK app (bot/action_server.py)."""

from __future__ import annotations

import json

from bot.action_server import response_with_intent


def test_the_kind_carrying_message_gets_the_intent_rasa_read():
    call = {"tracker": {"latest_message": {"intent": {"name": "ask_question", "confidence": 0.91234}}}}
    result = {
        "events": [],
        "responses": [{"text": "Svar", "custom": None}, {"custom": {"kind": "answer"}}, {"custom": {"topic": "x"}}],
    }
    body = json.loads(response_with_intent(call, result).body)
    customs = [message["custom"] for message in body["responses"]]
    assert customs == [None, {"kind": "answer", "nlu": {"intent": "ask_question", "confidence": 0.912}}, {"topic": "x"}]


def test_a_result_without_a_kind_is_left_as_it_is():
    result = {"events": [{"event": "slot"}], "responses": [{"text": "hej"}]}
    assert json.loads(response_with_intent({}, result).body) == result
