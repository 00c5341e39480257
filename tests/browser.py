"""A page in a real browser: Debian's chromium, driven by Playwright, with what it did.

Used by every test that checks an HTML page: it records console errors, page
errors, requests and dialogs (an ``alert`` would mean a label ran as script),
and skips, saying why, where Playwright or chromium is not installed.
"""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest

CHROMIUM = Path("/usr/bin/chromium")


@dataclass
class Visit:
    """The open tab, and what happened while it loaded and was used."""

    tab: Any
    url: str
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def scroll_width(self) -> int:
        return int(self.tab.evaluate("document.documentElement.scrollWidth"))


@contextmanager
def chromium_browser() -> Iterator[Any]:
    """Headless Debian chromium under Playwright, closed when the block ends.

    Skips, saying why, where Playwright or chromium is not installed.  For tests
    that need several tabs, cookies or downloads; :func:`visit` opens one page.
    """
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright is not installed (pip install playwright)")
    chromium = CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")
    if not chromium:
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium),
            args=["--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--disable-sync"])
        try:
            yield browser
        finally:
            browser.close()


def watch(tab: Any, url: str = "") -> Visit:
    """Record what ``tab`` does from now on: errors, requests, dialogs (dismissed)."""
    seen = Visit(tab=tab, url=url)
    tab.on("console", lambda message: seen.errors.append(message.text)
           if message.type == "error" else None)
    tab.on("pageerror", lambda error: seen.errors.append(str(error)))
    tab.on("request", lambda request: seen.requests.append(request.url))

    def refuse(dialog: Any) -> None:
        seen.dialogs.append(dialog.message)
        dialog.dismiss()

    tab.on("dialog", refuse)
    return seen


@contextmanager
def visit(url: str, *, width: int = 1280, height: int = 900) -> Iterator[Visit]:
    """Open ``url`` (``file://`` or ``http://127.0.0.1``) in headless chromium."""
    with chromium_browser() as browser:
        seen = watch(browser.new_page(viewport={"width": width, "height": height}), url)
        seen.tab.goto(url, wait_until="load")
        yield seen
