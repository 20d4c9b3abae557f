"""The caseworker app's routes through HTTP, in-process (FastAPI's test client
on the real app and the real SQLite database; no Rasa needed): sessions,
cookies, CSRF, throttling, scope, and the case page's claim, reply, note and
close. tests/test_handoff_flow.py runs the whole handoff end to end."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from bot.api.main import create_app
from bot.handoff import service
from bot.storage.db import session_scope
from bot.storage.models import AuditEntry, CaseStatus, HandoffCase, Team
from bot.taxonomy import Author, Channel, HandoffReason, Municipality
from tests.conftest import CASEWORKER_PASSWORD, add_caseworker

_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


@pytest.fixture
def username(migrated) -> str:
    return add_caseworker(Municipality.BALLERUP, Team.BORGER, "Mona Berg")


@pytest.fixture
def client(settings, migrated) -> Iterator[TestClient]:
    with TestClient(create_app(settings), follow_redirects=False) as http:
        yield http


def login(client: TestClient, username: str, password: str = CASEWORKER_PASSWORD, with_csrf: bool = True) -> Response:
    token = _CSRF.search(client.get("/caseworker/login").text).group(1) if with_csrf else ""
    return client.post("/caseworker/login", data={"username": username, "password": password, "csrf_token": token})


def test_pages_and_api_need_a_login(client):
    assert client.get("/caseworker/").headers["location"] == "/caseworker/login"
    assert client.get("/caseworker/cases/1").status_code == 303
    api = client.get("/caseworker/api/inbox")
    assert api.status_code == 401 and "logget ind" in api.json()["detail"]


def test_login_sets_a_strict_httponly_session_cookie(client, username):
    response = login(client, username)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"].lower()
    assert "cw_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert "path=/caseworker" in cookie
    assert "Indbakke" in client.get("/caseworker/").text


def test_wrong_password_is_refused_in_danish(client, username):
    response = login(client, username, "forkert-adgangskode")
    assert response.status_code == 401
    assert "Forkert brugernavn eller adgangskode" in response.text


def test_login_without_csrf_token_is_refused(client, username):
    response = login(client, username, with_csrf=False)
    assert response.status_code == 400
    assert "cw_session" not in response.headers.get("set-cookie", "")


def test_failed_logins_are_throttled_even_for_the_right_password(client, username):
    for _ in range(5):
        assert login(client, username, "forkert-adgangskode").status_code == 401
    throttled = login(client, username)
    assert throttled.status_code == 429
    assert "For mange forkerte forsøg" in throttled.text


def test_forms_without_the_csrf_token_are_refused(client, username):
    login(client, username)
    response = client.post("/caseworker/cases/1/claim", data={"csrf_token": "forfalsket"})
    assert response.status_code == 403
    assert "Formularen var for gammel" in response.text


def test_logout_ends_the_session(client, username):
    login(client, username)
    old_cookie = client.cookies.get("cw_session", path="/caseworker")
    token = _CSRF.search(client.get("/caseworker/").text).group(1)
    assert client.post("/caseworker/logout", data={"csrf_token": token}).status_code == 303
    client.cookies.set("cw_session", old_cookie, path="/caseworker")
    assert client.get("/caseworker/").status_code == 303


def test_unknown_case_and_other_municipality_look_the_same(client, username):
    login(client, username)
    missing = client.get("/caseworker/cases/999999")
    assert missing.status_code == 404
    assert "findes ikke, eller du har ikke adgang" in missing.text


def waiting_chat(municipality: Municipality, transcript: list[tuple[Author, str]]) -> int:
    """A citizen waiting in the live-chat queue; the case's id."""
    new = service.NewCase(
        sender=secrets.token_urlsafe(16),
        municipality=municipality,
        team=Team.BORGER,
        channel=Channel.CHAT,
        reason=HandoffReason.PERSONAL_CASE,
        topic=None,
        article_ids=[],
        transcript=transcript,
        description="Spørgsmål om min sag",
    )
    with session_scope() as session:
        return service.create_case(session, new).id


def csrf(client: TestClient) -> str:
    return _CSRF.search(client.get("/caseworker/").text).group(1)


def test_claim_reply_note_and_close_from_the_case_page(client, username):
    case_id = waiting_chat(Municipality.BALLERUP, [(Author.CITIZEN, "Kan I hjælpe mig?")])
    login(client, username)
    assert client.post(f"/caseworker/cases/{case_id}/claim", data={"csrf_token": csrf(client)}).status_code == 303
    page = client.get(f"/caseworker/cases/{case_id}").text
    assert 'id="reply-text"' in page and "Luk sagen" in page
    for action, field, text in [("reply", "text", "Hej, jeg hedder Mona."), ("note", "text", "Ring i morgen")]:
        response = client.post(f"/caseworker/cases/{case_id}/{action}", data={field: text, "csrf_token": csrf(client)})
        assert response.status_code == 303
    thread = client.get(f"/caseworker/api/cases/{case_id}/thread").json()
    assert [m["text"] for m in thread["messages"]][-2:] == ["Hej, jeg hedder Mona.", "Ring i morgen"]
    closing = {"outcome": "Besvaret i chatten", "csrf_token": csrf(client)}
    assert client.post(f"/caseworker/cases/{case_id}/close", data=closing).status_code == 303
    with session_scope() as session:
        assert session.get(HandoffCase, case_id).status is CaseStatus.CLOSED


def test_a_cpr_number_typed_by_a_caseworker_is_masked(client, username):
    case_id = waiting_chat(Municipality.BALLERUP, [])
    login(client, username)
    client.post(f"/caseworker/cases/{case_id}/claim", data={"csrf_token": csrf(client)})
    note = {"text": "Hans cpr er 150387-1001", "csrf_token": csrf(client)}
    client.post(f"/caseworker/cases/{case_id}/note", data=note)
    texts = [m["text"] for m in client.get(f"/caseworker/api/cases/{case_id}/thread").json()["messages"]]
    assert "Hans cpr er XXXXXX-XXXX" in texts and not any("150387" in t for t in texts)


def test_the_reply_box_sits_beside_the_conversation_and_repeats_are_folded(client, username):
    rule = "Det gælder generelt: du kan klage inden fire uger."
    transcript = [(Author.CITIZEN, "min sag"), (Author.BOT, rule), (Author.CITIZEN, "og min sag?"), (Author.BOT, rule)]
    case_id = waiting_chat(Municipality.BALLERUP, transcript)
    login(client, username)
    client.post(f"/caseworker/cases/{case_id}/claim", data={"csrf_token": csrf(client)})
    page = client.get(f"/caseworker/cases/{case_id}").text
    layout = page[page.index('class="case-layout"') :]
    assert layout.index('id="thread"') < layout.index('class="actions-panel"') < layout.index('id="reply-text"')
    assert page.count("<details><summary>Samme svar som tidligere</summary>") == 1
    assert page.count(rule) == 2  # folded, not dropped


def test_another_municipalitys_case_is_not_found_for_any_action(client, username):
    case_id = waiting_chat(Municipality.GLADSAXE, [(Author.CITIZEN, "Hej")])
    login(client, username)
    assert client.get(f"/caseworker/cases/{case_id}").status_code == 404
    assert client.get(f"/caseworker/api/cases/{case_id}/thread").status_code == 404
    assert client.post(f"/caseworker/cases/{case_id}/claim", data={"csrf_token": csrf(client)}).status_code == 404
    with session_scope() as session:
        assert session.get(HandoffCase, case_id).status is CaseStatus.WAITING


def test_reading_a_case_is_audited_and_polling_without_new_messages_is_not(client, username):
    case_id = waiting_chat(Municipality.BALLERUP, [(Author.CITIZEN, "Kan I ringe mig op?")])
    login(client, username)
    client.get(f"/caseworker/cases/{case_id}")
    last = client.get(f"/caseworker/api/cases/{case_id}/thread").json()["messages"][-1]["id"]
    client.get(f"/caseworker/api/cases/{case_id}/thread", params={"after": last})
    with session_scope() as session:
        rows = session.scalars(select(AuditEntry.action).where(AuditEntry.case_id == case_id)).all()
    assert rows == ["view", "read_thread"]
