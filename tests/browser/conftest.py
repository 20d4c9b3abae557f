"""Browser fixtures: Debian's Chromium driven by Playwright, against the real stack.

Install the browser with `apt-get install chromium`; Playwright's own
browser download is never used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
#: A bot turn goes through Rasa and the action server; the first ones are slow.
REPLY_TIMEOUT_MS = 60_000

expect.set_options(timeout=REPLY_TIMEOUT_MS)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one test module. Playwright's sync API runs an event loop
    while it is open, so it must be closed before any asyncio test runs."""
    if not CHROMIUM.exists():
        pytest.fail(f"No Chromium at {CHROMIUM}: install it with `apt-get install chromium`.")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile per test: its own sessionStorage, so its own conversation."""
    created = browser.new_context(locale="da-DK", viewport={"width": 1280, "height": 800})
    yield created
    created.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def save_screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


@pytest.fixture
def screenshot() -> Callable[[Page, str], Path]:
    """save_screenshot(page, name): test-artifacts/screenshots/<name>.png."""
    return save_screenshot


class Chat:
    """The widget on a page, found the way a user finds it: by role and name."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.launcher = page.get_by_role("button", name="Chat med os")
        self.panel = page.get_by_role("dialog", name="Jobcenter-assistenten")
        self.log = self.panel.get_by_role("log")
        self.input = self.panel.get_by_role("textbox", name="Skriv din besked")
        self.send_button = self.panel.get_by_role("button", name="Send", exact=True)
        self.human = self.panel.locator(".jca-actions").get_by_role("button", name="Tal med en medarbejder")
        self.restart = self.panel.get_by_role("button", name="Start forfra")
        self.error = self.log.locator(".jca-notice")

    def visit(self, base_url: str, path: str) -> Chat:
        self.page.goto(base_url + path)
        expect(self.launcher).to_be_visible()
        return self

    def open(self) -> None:
        self.launcher.click()
        expect(self.panel).to_be_visible()

    def wait_for_reply(self) -> None:
        """Wait until the turn is over (the panel is no longer busy)."""
        expect(self.panel).not_to_have_class(re.compile(r"\bjca-busy\b"))

    def ask(self, text: str) -> None:
        self.input.fill(text)
        self.input.press("Enter")
        self.wait_for_reply()

    def messages(self, role: str) -> Locator:
        return self.log.locator(f".jca-msg--{role}")

    def choice(self, title: str) -> Locator:
        return self.log.locator(".jca-choices").get_by_role("button", name=title, exact=True)

    def storage(self) -> dict:
        """The widget's saved session, as the page keeps it."""
        return self.page.evaluate(
            """() => {
                const key = Object.keys(sessionStorage).find(k => k.startsWith("jobcenter-assistent:"));
                return key ? JSON.parse(sessionStorage.getItem(key)) : {};
            }"""
        )


@pytest.fixture
def chat(page: Page) -> Chat:
    return Chat(page)


@pytest.fixture
def chat_in_window(browser: Browser) -> Iterator[Callable[..., Chat]]:
    """A widget in a browser window of a given size and zoom (device scale factor)."""
    contexts: list[BrowserContext] = []

    def open_window(width: int, height: int, scale: float = 1) -> Chat:
        window = browser.new_context(
            locale="da-DK", viewport={"width": width, "height": height}, device_scale_factor=scale
        )
        contexts.append(window)
        return Chat(window.new_page())

    yield open_window
    for window in contexts:
        window.close()
