"""Security headers of the caseworker app, and the Secure flag of its cookies,
through HTTP against the app in-process with the real database."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from bot.api.main import create_app
from bot.handoff import service
from bot.settings import Settings
from bot.storage.db import session_scope
from bot.storage.models import Author, Channel, Team
from bot.taxonomy import HandoffReason, Municipality
from tests.conftest import CASEWORKER_PASSWORD, add_caseworker

_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
#: Inline script or style, which the policy forbids: a <script> without src, <style>, style="", on...="", javascript:.
_INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=|javascript:", re.IGNORECASE)


@pytest.fixture(scope="module")
def http(settings, migrated) -> Iterator[TestClient]:
    with TestClient(create_app(settings), follow_redirects=False) as client:
        yield client


@pytest.fixture(scope="module")
def case_id(http) -> int:
    """Log in as a caseworker with one waiting case in her inbox; return the case's id."""
    username = add_caseworker(Municipality.BALLERUP, Team.VIRKSOMHED, "Jens Holm")
    with session_scope() as session:
        new = service.NewCase(
            sender=secrets.token_urlsafe(16),
            municipality=Municipality.BALLERUP,
            team=Team.VIRKSOMHED,
            channel=Channel.CHAT,
            reason=HandoffReason.REQUEST_HUMAN,
            topic=None,
            article_ids=[],
            transcript=[(Author.CITIZEN, "Vi vil gerne ansætte en i løntilskud")],
            description="Ring til os",
        )
        created = service.create_case(session, new).id
    token = _CSRF.search(http.get("/caseworker/login").text).group(1)
    form = {"username": username, "password": CASEWORKER_PASSWORD, "csrf_token": token}
    assert http.post("/caseworker/login", data=form).status_code == 303
    return created


def policy(header: str) -> dict[str, str]:
    directives = (part.strip().split(None, 1) for part in header.split(";") if part.strip())
    return dict(directives)


def assert_private(response) -> None:
    csp = policy(response.headers["content-security-policy"])
    assert csp["default-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["form-action"] == "'self'"
    assert csp["base-uri"] == "'none'"
    assert csp.get("script-src", "'self'") == "'self'"
    assert "unsafe" not in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/caseworker/", "/caseworker/cases/{case}", "/caseworker/callbacks"])
def test_pages_send_the_headers_and_have_no_inline_script_or_style(http, case_id, path):
    response = http.get(path.format(case=case_id))
    assert response.status_code == 200
    assert_private(response)
    assert not _INLINE.findall(response.text)


def test_the_login_page_sends_the_headers(http):
    response = http.get("/caseworker/login")
    assert response.status_code == 200
    assert_private(response)
    assert not _INLINE.findall(response.text)


@pytest.mark.parametrize("path", ["/caseworker/api/inbox", "/caseworker/api/cases/{case}/thread"])
def test_json_sends_the_headers(http, case_id, path):
    response = http.get(path.format(case=case_id))
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert_private(response)


def test_errors_redirects_and_static_files_send_the_headers(http, case_id):
    missing = http.get("/caseworker/cases/999999999")
    assert missing.status_code == 404
    assert not _INLINE.findall(missing.text)
    with TestClient(http.app, follow_redirects=False) as stranger:
        responses = [
            missing,
            stranger.get("/caseworker/"),
            stranger.get("/caseworker/api/inbox"),
            http.get("/caseworker/static/caseworker.js"),
        ]
    assert [r.status_code for r in responses] == [404, 303, 401, 200]
    for response in responses:
        assert_private(response)


def test_the_demo_pages_keep_their_policy_and_may_be_cached(http):
    response = http.get("/demo/gladsaxe")
    assert policy(response.headers["content-security-policy"])["frame-ancestors"] == "'none'"
    assert "cache-control" not in response.headers


# -- Secure cookies ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "secure"),
    [("127.0.0.1", False), ("localhost", False), ("::1", False), ("0.0.0.0", True), ("jobcenter.example.dk", True)],
)
def test_cookies_are_secure_unless_served_on_loopback(host, secure):
    assert Settings(web_host=host).use_secure_cookies is secure


def test_an_explicit_secure_cookies_setting_wins(monkeypatch):
    monkeypatch.setenv("SECURE_COOKIES", "false")
    assert Settings(web_host="0.0.0.0").use_secure_cookies is False
    monkeypatch.setenv("SECURE_COOKIES", "true")
    assert Settings(web_host="127.0.0.1").use_secure_cookies is True


@pytest.mark.parametrize(("host", "secure"), [("0.0.0.0", True), ("127.0.0.1", False)])
def test_the_login_cookie_is_secure_when_served_beyond_loopback(settings, migrated, host, secure):
    app = create_app(settings.model_copy(update={"web_host": host}))
    with TestClient(app) as client:
        cookie = client.get("/caseworker/login").headers["set-cookie"].lower()
    assert "cw_login_csrf=" in cookie
    assert ("; secure" in cookie) is secure
