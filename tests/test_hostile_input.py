"""Hostile input through the running front door: always a Danish 4xx, never a 5xx.

Each case here gave a 503, an English 400 or a broken stream before.
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import new_sender

pytestmark = pytest.mark.integration

DANISH_WORDS = ("Beskeden", "Feltet", "Kommunen", "Målgruppen", "Samtalens", "Siden", "Teksten", "ugyldig")


def assert_danish_4xx(response: httpx.Response, *statuses: int) -> None:
    assert response.status_code in (statuses or (400, 413, 422)), response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and any(word in detail for word in DANISH_WORDS), detail


def post_raw(web: httpx.Client, body: bytes) -> httpx.Response:
    return web.post("/api/chat", content=body, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize(
    "metadata",
    [{"municipality": ["gladsaxe"]}, {"municipality": {"a": 1}}, {"audience": ["borger"]}, {"audience": {"x": 1}}],
)
def test_metadata_of_the_wrong_type(web, metadata):
    body = {"sender": new_sender(), "message": "hej", "metadata": metadata}
    assert_danish_4xx(web.post("/api/chat", json=body), 422)


def test_a_lone_surrogate_in_the_message(web):
    body = b'{"sender": "%s", "message": "hej \\ud800 med dig"}' % new_sender().encode()
    assert_danish_4xx(post_raw(web, body), 422)


def test_json_nested_too_deep(web):
    assert_danish_4xx(post_raw(web, b"[" * 20_000 + b"]" * 20_000), 400, 422)


def test_invalid_utf8(web):
    body = b'{"sender": "%s", "message": "hej \xff\xfe"}' % new_sender().encode()
    assert_danish_4xx(post_raw(web, body), 400, 422)


@pytest.mark.parametrize("after", [str(10**30), "-1", "abc"])
def test_an_impossible_message_id_when_polling(web, after):
    response = web.get(f"/api/chat/{new_sender()}/messages", params={"after": after})
    assert_danish_4xx(response, 422)


def test_an_enormous_last_event_id(web):
    response = web.get(f"/api/chat/{new_sender()}/events", headers={"Last-Event-ID": "9" * 5000})
    assert_danish_4xx(response, 422)


def test_a_body_over_the_limit_is_refused_early(web):
    body = json.dumps({"sender": new_sender(), "message": "x" * 200_000}).encode()
    assert_danish_4xx(post_raw(web, body), 413)


def test_a_chunked_body_over_the_limit_is_refused(web):
    def chunks():
        yield b'{"sender": "%s", "message": "' % new_sender().encode()
        for _ in range(100):
            yield b"x" * 4096
        yield b'"}'

    response = web.post("/api/chat", content=chunks(), headers={"Content-Type": "application/json"})
    assert_danish_4xx(response, 413)


def test_an_unknown_path_is_answered_in_danish(web):
    assert_danish_4xx(web.get("/api/findes-ikke"), 404)


@pytest.mark.parametrize("sender", ["a", "x" * 21, "kort-id"])
def test_a_guessable_conversation_id_is_refused(web, sender):
    assert_danish_4xx(web.post("/api/chat", json={"sender": sender, "message": "hej"}), 422)
    assert_danish_4xx(web.get(f"/api/chat/{sender}/messages"), 422)


def test_control_characters_are_dropped_not_stored(web):
    body = {"sender": new_sender(), "message": "hvad er\x00 fleksjob\x07", "metadata": {"municipality": "gladsaxe"}}
    response = web.post("/api/chat", json=body)
    assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def caseworker(stack, migrated):
    from bot.storage.models import Team
    from bot.taxonomy import Municipality
    from tests.conftest import add_caseworker
    from tests.test_handoff_flow import Caseworker

    return Caseworker(stack, add_caseworker(Municipality.GLADSAXE, Team.BORGER, "Hanne Test"))


@pytest.mark.parametrize("path", ["/caseworker/cases/{id}", "/caseworker/api/cases/{id}/thread"])
def test_an_impossible_case_id(caseworker, path):
    assert_danish_4xx(caseworker.page(path.format(id=10**20)), 422)


def test_an_impossible_case_id_in_a_form(caseworker):
    assert_danish_4xx(caseworker.post(f"/caseworker/cases/{10**20}/claim"), 422)


@pytest.mark.parametrize("action", ["reply", "note", "close"])
def test_a_blank_caseworker_text_is_refused(caseworker, action):
    field = "outcome" if action == "close" else "text"
    assert_danish_4xx(caseworker.post(f"/caseworker/cases/1/{action}", **{field: "   \n "}), 422)
