"""The whole handoff across two browser contexts (citizen and caseworker), and
the caseworker app's accessibility, in headless Chromium against the real stack."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from bot.storage.models import Team
from bot.taxonomy import Municipality
from tests.browser.conftest import Chat
from tests.browser.test_widget import serious_violations
from tests.conftest import CASEWORKER_PASSWORD, add_caseworker

pytestmark = pytest.mark.browser


@pytest.fixture
def caseworker_page(browser: Browser, migrated) -> Page:
    username = add_caseworker(Municipality.GLADSAXE, Team.BORGER, "Karen Vestergaard")
    context = browser.new_context(locale="da-DK", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.username = username  # type: ignore[attr-defined]
    yield page
    context.close()


def log_in(page: Page, base_url: str) -> None:
    page.goto(base_url + "/caseworker/login")
    page.get_by_label("Brugernavn").fill(page.username)  # type: ignore[attr-defined]
    page.get_by_label("Adgangskode").fill(CASEWORKER_PASSWORD)
    page.get_by_role("button", name="Log ind").click()
    expect(page.get_by_role("heading", name="Indbakke")).to_be_visible()


def test_citizen_and_caseworker_complete_a_live_chat(stack, chat: Chat, caseworker_page: Page, screenshot):
    # The citizen asks for a person and joins the queue.
    chat.visit(stack.web_url, "/demo/gladsaxe")
    chat.open()
    chat.human.click()
    chat.wait_for_reply()
    chat.choice("Chat med en medarbejder nu").click()
    chat.wait_for_reply()
    chat.ask("Jeg vil gerne høre, om jeg kan få hjælp til at komme i fleksjob.")
    expect(chat.panel.locator(".jca-queue")).to_have_text(re.compile(r"Du er nummer \d+ i køen"))

    # The caseworker sees it, with the bot transcript, claims and replies.
    cw = caseworker_page
    log_in(cw, stack.web_url)
    assert not serious_violations(cw), serious_violations(cw)
    screenshot(cw, "caseworker-inbox")
    cw.get_by_role("link", name=re.compile(r"^Sag \d+$")).last.click()
    expect(cw.locator("#thread").get_by_text("Jeg vil gerne høre, om jeg kan få hjælp").first).to_be_visible()
    cw.get_by_role("button", name="Tag sagen").click()
    expect(chat.panel.locator(".jca-queue")).to_contain_text("Karen")
    cw.get_by_label("Besked til borgeren").fill("Hej, jeg hedder Karen. Jeg kan godt hjælpe dig.")
    cw.get_by_role("button", name="Send svar").click()
    assert not serious_violations(cw), serious_violations(cw)
    screenshot(cw, "caseworker-case")

    # The citizen receives the reply, marked with the caseworker's name and role, and answers.
    reply = chat.messages("caseworker").last
    expect(reply).to_contain_text("Jeg kan godt hjælpe dig")
    expect(reply.locator(".jca-who")).to_have_text("Karen, medarbejder")
    chat.input.fill("Tak! Jeg arbejder 10 timer om ugen nu.")
    chat.input.press("Enter")
    expect(cw.locator("#thread")).to_contain_text("Jeg arbejder 10 timer om ugen nu")
    screenshot(chat.page, "citizen-live-chat")

    # The caseworker closes the case; the bot answers the citizen again.
    cw.get_by_label("Borgeren fik svar").check()
    cw.get_by_label("Resultat (hvad blev aftalt?)").fill("Vejledt om fleksjob")
    cw.get_by_role("button", name="Luk sagen").click()
    expect(cw.locator(".notice")).to_contain_text("Sagen er lukket")
    expect(chat.log).to_contain_text("assistenten igen")
    chat.ask("Hvad er et fleksjob?")
    expect(chat.log.locator(".jca-citation").last).to_contain_text("Kilde:")


def test_caseworker_login_page_has_no_serious_axe_violations(stack, page: Page):
    page.goto(stack.web_url + "/caseworker/login")
    assert page.locator("html").get_attribute("lang") == "da"
    assert not serious_violations(page), serious_violations(page)
