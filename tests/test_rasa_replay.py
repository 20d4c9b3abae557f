"""A turn's reply rebuilt from Rasa's tracker (bot/api/rasa_replay.py) is the
reply Rasa sent: checked on hand-made events, and on the running stack
against the real front-door channel, turn by turn."""

from __future__ import annotations

import uuid

import httpx

from bot.api.rasa_client import TOKEN_HEADER, WEBHOOK
from bot.api.rasa_replay import reply_of
from bot.dialogue.handoff import CALL_ME
from tests.conftest import new_sender


def test_each_utterance_is_sent_as_rasas_collecting_channel_sends_it():
    events = [
        {"event": "user", "text": "før", "message_id": "a"},
        {"event": "bot", "text": "gammelt svar"},
        {"event": "user", "text": "nu", "message_id": "b"},
        {"event": "action", "name": "action_answer"},
        {"event": "bot", "text": "Første afsnit.\n\nAndet afsnit.", "data": {"custom": {"kind": "answer"}}},
        {"event": "bot", "text": "Vælg", "data": {"buttons": [{"title": "Ja", "payload": "/affirm"}]}},
        {"event": "bot", "text": None, "data": {"image": "https://example.org/a.png"}},
        {"event": "slot", "name": "topic", "value": "fleksjob"},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "senere", "message_id": "c"},
        {"event": "bot", "text": "senere svar"},
    ]
    assert reply_of(events, "b") == [
        {"text": "Første afsnit."},
        {"text": "Andet afsnit."},
        {"custom": {"kind": "answer"}},
        {"text": "Vælg", "buttons": [{"title": "Ja", "payload": "/affirm"}]},
        {"image": "https://example.org/a.png"},
    ]
    assert reply_of(events, "c") == [{"text": "senere svar"}]
    assert reply_of(events, "ukendt") is None  # the turn was never saved


def test_a_saved_turn_without_bot_messages_is_an_empty_reply():
    assert reply_of([{"event": "user", "text": "hej", "message_id": "a"}], "a") == []


def test_the_rebuilt_reply_is_the_reply_rasa_sent(stack, settings):
    """Through the real channel and the trained model: a first turn, a cited
    answer, the handoff form's steps, a fallback."""
    sender, token = new_sender(), settings.rasa_token.get_secret_value()
    messages = ["Hvad er et fleksjob?", "Kan I ringe mig op?", CALL_ME, "Anna Holm", "xqzv blorp"]
    with httpx.Client(base_url=settings.rasa_url, timeout=30) as rasa:
        sent = {}
        for message in messages:
            message_id = uuid.uuid4().hex
            body = {
                "sender": sender,
                "message": message,
                "message_id": message_id,
                "metadata": {"municipality": "gladsaxe"},
            }
            response = rasa.post(WEBHOOK, json=body, headers={TOKEN_HEADER: token})
            assert response.status_code == 200
            sent[message_id] = [{k: v for k, v in m.items() if k != "recipient_id"} for m in response.json()]
        events = rasa.get(f"/conversations/{sender}/tracker", params={"token": token}).json()["events"]
    assert all(sent.values())
    assert {message_id: reply_of(events, message_id) for message_id in sent} == sent
