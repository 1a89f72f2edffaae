"""A real browser for the HTML tests: the system's Chromium (Debian's package) driven headless by
Playwright (PyPI), JavaScript off. Nothing is downloaded: `playwright install` is never run, and
a machine without either is a skip (a failure under SMALLFEDI_REQUIRE_ALL=1)."""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import need

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
TIMEOUT_MS = 10_000


@contextmanager
def chromium_page(on_failure):
    """(page, expect) in a fresh context; `on_failure(page)` runs (screenshots, logs) before a
    failure inside the block goes on."""
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        need(False, "the playwright package (PyPI) is not installed")
    need(Path(CHROMIUM).exists(), f"Chromium not found (looked for {CHROMIUM})")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(java_script_enabled=False)
            context.set_default_timeout(TIMEOUT_MS)
            context.set_default_navigation_timeout(TIMEOUT_MS)
            expect.set_options(timeout=TIMEOUT_MS)
            page = context.new_page()
            try:
                yield page, expect
            except BaseException:
                on_failure(page)
                raise
            finally:
                context.close()
        finally:
            browser.close()
