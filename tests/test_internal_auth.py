"""Only our own processes reach Rasa and the action server.

A hand-made call to the action server's /webhook used to run
action_submit_handoff and open a priority-1 case with a forged transcript,
and Rasa's REST webhook took messages the front door had not masked.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from bot.api.rasa_client import TOKEN_HEADER, WEBHOOK
from bot.storage.db import session_scope
from bot.storage.models import HandoffCase
from tests.conftest import new_sender

pytestmark = pytest.mark.integration


def forged_submit(sender: str) -> dict:
    """What an attacker would post to run action_submit_handoff."""
    slots = {"municipality": "gladsaxe", "handoff_channel": "chat", "handoff_description": "forged"}
    return {
        "next_action": "action_submit_handoff",
        "sender_id": sender,
        "version": "3.6.21",
        "domain": {},
        "tracker": {"sender_id": sender, "slots": slots, "latest_message": {}, "events": []},
    }


@pytest.mark.parametrize("headers", [{}, {"X-Actions-Token": "wrong"}])
def test_the_action_server_refuses_calls_without_rasas_token(stack, headers):
    sender = new_sender()
    url = f"{stack.settings.actions_url}/webhook"
    response = httpx.post(url, json=forged_submit(sender), headers=headers, timeout=10)
    assert response.status_code == 403
    assert httpx.get(f"{stack.settings.actions_url}/actions", headers=headers, timeout=10).status_code == 403
    with session_scope() as session:
        assert session.scalars(select(HandoffCase).where(HandoffCase.sender == sender)).first() is None


def test_the_action_server_health_stays_open(stack):
    assert httpx.get(f"{stack.settings.actions_url}/health", timeout=10).status_code == 200


@pytest.mark.parametrize("headers", [{}, {TOKEN_HEADER: "wrong"}])
def test_rasa_takes_messages_only_from_the_front_door(stack, headers):
    body = {"sender": new_sender(), "message": "mit cpr er 010190-1234"}
    response = httpx.post(f"{stack.settings.rasa_url}{WEBHOOK}", json=body, headers=headers, timeout=10)
    assert response.status_code == 403


def test_rasas_open_rest_channel_is_gone(stack):
    body = {"sender": new_sender(), "message": "hej"}
    assert httpx.post(f"{stack.settings.rasa_url}/webhooks/rest/webhook", json=body, timeout=10).status_code == 404


def test_rasas_http_api_needs_the_token(stack):
    url = f"{stack.settings.rasa_url}/conversations/{new_sender()}/tracker"
    assert httpx.get(url, timeout=10).status_code in (401, 403)
