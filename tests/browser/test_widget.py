"""The chat widget in a real browser, against the real stack and trained model.

Every test uses its own browser profile, so its own conversation (sender id).
"""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from bot.taxonomy import Municipality, Team
from tests.conftest import add_caseworker
from tests.test_handoff_flow import Caseworker, open_case

pytestmark = pytest.mark.browser

FLEKSJOB = "Hvad er et fleksjob?"
#: An employer question answered by an article with a 2026 reform note.
SICK_PAY = "hvor længe skal vi betale når en medarbejder er syg"
#: Enough Tab presses to cross the demo page and the widget.
MAX_TABS = 40


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical findings, one readable line each."""
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def is_focused(locator) -> bool:
    return locator.evaluate("element => element === document.activeElement")


def tab_to(page: Page, locator, backwards: bool = False) -> None:
    """Press Tab (or Shift+Tab) until the element has focus, as a keyboard user would."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(MAX_TABS):
        if is_focused(locator):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{locator} was not reached with {key} in {MAX_TABS} presses")


def test_widget_with_answer_and_buttons_has_no_serious_axe_violations(stack, chat, screenshot):
    chat.visit(stack.web_url, "/demo/gladsaxe")
    chat.open()
    chat.ask(FLEKSJOB)
    answer = chat.messages("bot").filter(has=chat.page.locator(".jca-citation"))
    expect(answer).to_have_count(1)
    expect(answer.locator(".jca-citation")).to_contain_text("Kilde:")
    expect(chat.choice("Ja")).to_be_visible()
    screenshot(chat.page, "answer-with-citation")

    assert serious_violations(chat.page) == []


@pytest.mark.parametrize("path", ["/", "/demo/gladsaxe", "/demo/rodovre/virksomhed", "/demo/ukendt"])
def test_demo_pages_have_no_serious_axe_violations(stack, page, path):
    page.goto(stack.web_url + path)
    expect(page.locator("h1")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "da"
    assert serious_violations(page) == []


def test_unknown_municipality_is_a_danish_404(stack, page):
    response = page.goto(stack.web_url + "/demo/aarhus")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Siden findes ikke")


def test_answer_parts_are_rendered_as_separate_blocks(stack, chat):
    chat.visit(stack.web_url, "/demo/gladsaxe/virksomhed")
    chat.open()
    expect(chat.messages("bot").first).to_contain_text("automatisk assistent")
    # An article with a reform note: its answer carries a warning with links.
    chat.ask(SICK_PAY)
    answer = chat.messages("bot").filter(has=chat.page.locator(".jca-citation")).last
    citation = answer.get_by_role("group", name="Kilde")
    expect(citation).to_contain_text(re.compile(r"Kilde: .+afsnit «.+» \(\d{4}\)"))
    warning = answer.get_by_role("note")
    expect(warning).to_contain_text(re.compile(r"^Bemærk: "))
    for domain in ("borger.dk", "star.dk"):
        link = warning.get_by_role("link", name=re.compile("^" + re.escape(domain)))
        expect(link).to_have_attribute("href", f"https://{domain}/")
        expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(answer.locator("time")).to_have_attribute("datetime", re.compile(r"^\d{4}-\d\d-\d\dT"))
    # The user's bubble and the bot's are told apart by name, not colour alone.
    expect(chat.messages("user").last.locator(".jca-who")).to_have_text("Du")
    expect(answer.locator(".jca-who")).to_have_text("Assistenten")


def test_keyboard_only_conversation(stack, chat, screenshot):
    page = chat.page
    chat.visit(stack.web_url, "/demo/gladsaxe")

    tab_to(page, chat.launcher)
    page.keyboard.press("Enter")
    expect(chat.panel).to_be_visible()
    expect(chat.input).to_be_focused()

    # Shift+Enter is a new line, not a send.
    page.keyboard.type("første linje")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("anden linje")
    expect(chat.input).to_have_value("første linje\nanden linje")
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.press("Backspace")

    page.keyboard.type(FLEKSJOB)
    page.keyboard.press("Enter")
    chat.wait_for_reply()
    expect(chat.log.locator(".jca-citation")).to_have_count(1)
    expect(chat.input).to_be_focused()
    expect(chat.input).to_have_value("")

    # Back from the input to a reply button, and press it.
    yes = chat.choice("Ja")
    tab_to(page, yes, backwards=True)
    screenshot(chat.page, "keyboard-reply-button-focused")
    page.keyboard.press("Enter")
    chat.wait_for_reply()
    expect(chat.messages("user").last).to_contain_text("Ja")
    expect(chat.messages("user").last).not_to_contain_text("/give_feedback")
    expect(chat.input).to_be_focused()

    # The always-present "Tal med en medarbejder" starts the handoff form.
    tab_to(page, chat.human, backwards=True)
    page.keyboard.press("Enter")
    chat.wait_for_reply()
    expect(chat.messages("user").last).to_have_text(re.compile("Tal med en medarbejder"))
    expect(chat.choice("Chat med en medarbejder nu")).to_be_visible()
    expect(chat.input).to_be_focused()
    screenshot(chat.page, "keyboard-handoff-form")

    # Esc closes the panel and gives focus back to the launcher.
    page.keyboard.press("Escape")
    expect(chat.panel).to_be_hidden()
    expect(chat.launcher).to_be_focused()


def test_conversation_and_state_survive_a_reload(stack, chat):
    page = chat.page
    chat.visit(stack.web_url, "/demo/gladsaxe")
    chat.open()
    chat.ask(FLEKSJOB)
    before = chat.log.locator(".jca-msg").all_inner_texts()
    sender = chat.storage()["sender"]
    chat.input.fill("et halvt skrevet spørgsmål")

    page.reload()
    expect(chat.panel).to_be_visible()
    expect(chat.log.locator(".jca-msg")).to_have_count(len(before))
    assert chat.log.locator(".jca-msg").all_inner_texts() == before
    expect(chat.input).to_have_value("et halvt skrevet spørgsmål")
    assert chat.storage()["sender"] == sender

    # The same conversation goes on: the feedback buttons still work.
    chat.choice("Ja").click()
    chat.wait_for_reply()
    expect(chat.messages("user").last).to_have_text(re.compile("Ja"))

    chat.panel.get_by_role("button", name="Luk chatten").click()
    page.reload()
    expect(chat.launcher).to_be_visible()
    expect(chat.panel).to_be_hidden()


def test_start_forfra_clears_the_conversation(stack, chat):
    chat.visit(stack.web_url, "/demo/ballerup")
    chat.open()
    chat.ask(FLEKSJOB)
    chat.restart.click()
    chat.wait_for_reply()
    expect(chat.messages("user")).to_have_count(0)
    expect(chat.log.locator(".jca-citation")).to_have_count(0)
    expect(chat.messages("bot").first).to_contain_text("automatisk assistent")
    expect(chat.input).to_be_focused()
    assert not any(entry.get("role") == "user" for entry in chat.storage()["history"])


@pytest.mark.parametrize(
    ("name", "width", "height", "scale"),
    [
        ("320px", 320, 640, 1),
        # 200 % browser zoom of a 1280x720 window lays out like a 640x360 CSS-pixel viewport.
        ("zoom-200", 640, 360, 2),
    ],
)
def test_narrow_screen_and_zoom_keep_the_input_usable(stack, chat_in_window, screenshot, name, width, height, scale):
    chat = chat_in_window(width, height, scale)
    chat.visit(stack.web_url, "/demo/rudersdal")
    chat.open()
    chat.ask(FLEKSJOB)
    for control in (chat.input, chat.send_button):
        expect(control).to_be_in_viewport()
    box = chat.panel.bounding_box()
    assert box is not None and box["width"] <= width
    no_sideways_scroll = "el => el.scrollWidth <= el.clientWidth"
    assert chat.panel.evaluate(no_sideways_scroll)
    assert chat.log.evaluate(no_sideways_scroll)
    screenshot(chat.page, f"{name}-answer")

    chat.input.fill("Tak")
    chat.send_button.click()
    chat.wait_for_reply()
    expect(chat.messages("user").last).to_have_text(re.compile("Tak"))
    expect(chat.input).to_be_focused()
    expect(chat.input).to_be_in_viewport()


def test_too_long_message_shows_the_danish_error_and_keeps_the_text(stack, chat, screenshot):
    chat.visit(stack.web_url, "/demo/gladsaxe")
    chat.open()
    text = "Jeg har et langt spørgsmål om fleksjob. " * 60
    chat.input.fill(text)
    chat.input.press("Enter")
    chat.wait_for_reply()
    expect(chat.error).to_contain_text("Beskeden er for lang")
    expect(chat.error).to_contain_text("2000 tegn")
    expect(chat.input).to_have_value(text)
    expect(chat.input).to_have_attribute("aria-invalid", "true")
    expect(chat.messages("user")).to_have_count(0)
    screenshot(chat.page, "too-long-message")

    # The next good message clears the error.
    chat.ask(FLEKSJOB)
    expect(chat.error).to_have_count(0)


def test_message_text_is_never_markup(stack, chat):
    chat.visit(stack.web_url, "/demo/gladsaxe")
    chat.open()
    attack = '<img src=x onerror="window.__owned=1"><b>fed</b>'
    chat.ask(attack)
    expect(chat.messages("user").last.locator(".jca-bubble")).to_have_text(attack)
    assert chat.log.locator("img, b").count() == 0
    assert chat.page.evaluate("() => window.__owned") is None


def test_domains_in_replies_become_safe_links(stack, chat):
    chat.visit(stack.web_url, "/demo/ballerup")
    chat.open()
    chat.ask("hvornår bliver mit skrald hentet?")
    link = chat.log.get_by_role("link", name=re.compile(r"^borger\.dk")).last
    expect(link).to_have_attribute("href", "https://borger.dk/")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer")


def test_live_chat_request_shows_queue_place_and_caseworker_messages(stack, chat, screenshot):
    """The queue line comes from the SSE `handoff` event; a caseworker's reply
    (claimed and written in the caseworker app) appears once, also after a reload."""
    page = chat.page
    chat.visit(stack.web_url, "/demo/rudersdal")
    chat.open()
    chat.human.click()
    chat.wait_for_reply()
    chat.choice("Chat med en medarbejder nu").click()
    chat.wait_for_reply()
    chat.ask("Jeg vil gerne tale om fleksjob og mine timer.")
    queue = chat.panel.locator(".jca-queue")
    expect(queue).to_have_attribute("aria-live", "polite")
    expect(queue).to_have_text(re.compile(r"^Du er nummer \d+ i køen\.$"))

    mette = Caseworker(stack, add_caseworker(Municipality.RUDERSDAL, Team.BORGER, "Mette Holm"))
    case = open_case(chat.storage()["sender"])
    assert mette.post(f"/caseworker/cases/{case.id}/claim").status_code == 303
    text = "Hej, jeg hedder Mette. Læs også star.dk. Skriv til navn@eksempel.dk"
    assert mette.post(f"/caseworker/cases/{case.id}/reply", text=text).status_code == 303
    reply = chat.messages("caseworker").filter(has_text="Hej, jeg hedder Mette")
    expect(reply).to_have_count(1)
    expect(reply.locator(".jca-who")).to_have_text("Mette, medarbejder")
    expect(reply.get_by_role("link", name=re.compile(r"^star\.dk"))).to_have_attribute("href", "https://star.dk/")
    expect(reply.get_by_role("link")).to_have_count(1)  # an e-mail address is not a web link
    screenshot(chat.page, "caseworker-message")

    page.reload()
    expect(chat.messages("caseworker").filter(has_text="Hej, jeg hedder Mette")).to_have_count(1)
    page.wait_for_timeout(1500)  # the stream resumes after the last id: no duplicates
    expect(chat.messages("caseworker").filter(has_text="Hej, jeg hedder Mette")).to_have_count(1)


def test_privacy_notice_states_the_retention_period(stack, chat, settings):
    chat.visit(stack.web_url, "/demo/gladsaxe")
    chat.open()
    chat.panel.get_by_text("Om dine oplysninger").click()
    notice = chat.panel.locator(".jca-privacy-text")
    expect(notice).to_contain_text(f"bliver sagen slettet {settings.retention_days} dage efter, at den er lukket")
    expect(notice).to_contain_text("Skriv aldrig dit CPR-nummer.")
    expect(chat.panel.get_by_text("Skriv aldrig dit CPR-nummer.", exact=False).first).to_be_visible()


def test_the_english_notice_is_marked_as_english_for_screen_readers(stack, chat):
    chat.visit(stack.web_url, "/demo/gladsaxe")
    chat.open()
    chat.ask(FLEKSJOB)
    chat.ask("What is a flex job?")
    expect(chat.messages("bot").first.locator(".jca-bubble")).not_to_have_attribute("lang", "en")
    expect(chat.messages("bot").last.locator(".jca-bubble")).to_have_attribute("lang", "en")
