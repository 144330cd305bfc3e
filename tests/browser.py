"""Fixtures and helpers for tests that drive Debian's Chromium through Playwright's sync
API (never a downloaded browser build). Loaded as a plugin by tests/conftest.py."""

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking"]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.fixture
def browser(monkeypatch):
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing: `make chromium` installs Debian's chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; Django's ORM then refuses
    # to run here although nothing is async. Allowed for the browser tests only.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def screenshot():
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def off_the_browser_loop(fn: Any, **kwargs: Any) -> Any:
    """Run a service outside Playwright's event-loop thread, as a view would run it: the
    broadcast after commit uses async_to_sync, which refuses a thread with a running loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, **kwargs).result()


def entries(page: Any) -> list[tuple[str, str]]:
    """The entries a page shows, in order: (element id, normalised text)."""
    return page.eval_on_selector_all(
        "[data-pinned] article.entry, [data-stream] article.entry",
        "els => els.map(e => [e.id, e.innerText.replace(/\\s+/g, ' ').trim()])",
    )
