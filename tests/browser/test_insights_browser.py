"""The insights page in headless Chromium against the real stack: an admin
sees the figures of turns a citizen just had in the widget (axe: no serious
or critical violation), closes the chat with the button, and the citizen's
widget says so plainly; a nej in the widget takes an optional comment."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import Browser, Page, expect

from bot.storage.models import Role, Team
from bot.taxonomy import Municipality
from tests.browser.conftest import Chat
from tests.browser.test_widget import serious_violations
from tests.conftest import CASEWORKER_PASSWORD, add_caseworker

pytestmark = pytest.mark.browser


@pytest.fixture
def admin_page(browser: Browser, migrated) -> Page:
    username = add_caseworker(Municipality.RUDERSDAL, Team.BORGER, "Ada Admin", role=Role.ADMIN)
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


def test_a_nej_in_the_widget_takes_a_comment_and_the_insights_page_shows_it(
    stack, chat: Chat, admin_page: Page, screenshot
):
    chat.visit(stack.web_url, "/demo/rudersdal")
    chat.open()
    chat.ask("Hvad er løntilskud?")
    chat.choice("Nej").click()
    chat.wait_for_reply()
    comment = chat.panel.get_by_role("textbox", name="Hvad manglede i svaret? (frivilligt)")
    expect(comment).to_be_visible()
    comment.fill("Jeg manglede at vide, hvor længe det varer.")
    chat.panel.get_by_role("button", name="Send kommentar").click()
    expect(chat.log).to_contain_text("Tak for din kommentar")
    unanswered = f"Hvordan passer jeg min undulat {secrets.token_hex(2)}?"
    chat.ask(unanswered)
    screenshot(chat.page, "widget-feedback-comment")

    page = admin_page
    log_in(page, stack.web_url)
    page.get_by_role("link", name="Indsigt").click()
    page.get_by_role("combobox", name="Kommune", exact=True).first.select_option("rudersdal")
    page.get_by_role("button", name="Vis tallene").click()
    expect(page.get_by_role("heading", name="Indsigt: Rudersdal")).to_be_visible()
    expect(page.get_by_text("Jeg manglede at vide, hvor længe det varer.")).to_be_visible()
    expect(page.get_by_role("cell", name=unanswered, exact=True)).to_be_visible()
    expect(page.get_by_role("img", name="Søjlediagram over samtaler og ture pr. dag")).to_be_visible()
    expect(page.get_by_role("table", name="Samtaler og ture pr. dag")).to_be_visible()
    assert serious_violations(page) == []
    screenshot(page, "insights-page")
    page.screenshot(path=str(screenshot(page, "insights-page").with_name("insights-page-full.png")), full_page=True)

    # "Prøv i chatten" opens the demo page with the question typed in.
    with page.context.expect_page() as opened:
        page.get_by_role("link", name=re.compile(r"^Prøv i chatten\s*: " + re.escape(unanswered))).click()
    tried = Chat(opened.value)
    expect(tried.input).to_have_value(unanswered)


def test_an_admin_closes_the_chat_and_the_widget_says_so(stack, chat: Chat, admin_page: Page, screenshot):
    page = admin_page
    log_in(page, stack.web_url)
    page.goto(stack.web_url + "/caseworker/insights")
    page.get_by_role("combobox", name="Kommune", exact=True).last.select_option("rudersdal")
    page.get_by_label("Besked til brugerne (valgfri)").fill("Chatten holder lukket i dag. Vi er tilbage i morgen.")
    page.get_by_role("button", name="Luk chatten").click()
    try:
        expect(page.get_by_text("Lukket for Rudersdal")).to_be_visible()
        chat.visit(stack.web_url, "/demo/rudersdal")
        chat.open()
        chat.ask("Hvad er et fleksjob?")
        closed = chat.log.locator(".jca-msg--closed")
        expect(closed).to_contain_text("Chatten er lukket lige nu")
        expect(closed).to_contain_text("Vi er tilbage i morgen.")
        assert serious_violations(chat.page) == []
        screenshot(chat.page, "widget-chat-closed")
    finally:
        page.get_by_role("combobox", name="Kommune", exact=True).last.select_option("rudersdal")
        page.get_by_role("button", name="Åbn chatten igen").click()
        expect(page.get_by_text("Chatten er åben i alle fire kommuner.")).to_be_visible()
