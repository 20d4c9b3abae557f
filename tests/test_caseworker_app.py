"""Caseworker app security through HTTP: sessions, cookies, CSRF, throttling, scope."""

from __future__ import annotations

import re

import httpx
import pytest

from bot.storage.models import Team
from bot.taxonomy import Municipality
from tests.conftest import CASEWORKER_PASSWORD, add_caseworker

pytestmark = pytest.mark.integration
_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


@pytest.fixture
def username(migrated) -> str:
    return add_caseworker(Municipality.BALLERUP, Team.BORGER, "Mona Berg")


@pytest.fixture
def client(stack):
    with httpx.Client(base_url=stack.web_url, timeout=30, follow_redirects=False) as http:
        yield http


def login(
    client: httpx.Client, username: str, password: str = CASEWORKER_PASSWORD, with_csrf: bool = True
) -> httpx.Response:
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
