"""A real headless Chromium for the console and report tests: Debian's ``chromium`` (installed
by ``scripts/install-browser.sh``, or the binary ``FLOWRISK_CHROMIUM`` names) driven by
Playwright, which never downloads a browser of its own. Tests skip, saying why, when there is
no browser on the machine; CI installs one, so there they run."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# the flags a closed network needs: no background connections, no component updates
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_path() -> Path | None:
    """The Chromium binary the tests drive, or None when the machine has none."""
    named = os.environ.get("FLOWRISK_CHROMIUM")
    if named:
        return Path(named) if Path(named).exists() else None
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return Path(found) if found else None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module (skipped when the machine has none). Not one per
    session: Playwright's sync driver keeps an asyncio loop running in the thread, and the other
    tests of the same worker (anyio, asyncio.run) need the thread free once a module is done."""
    binary = chromium_path()
    if binary is None:
        pytest.skip("no Chromium on this machine: run scripts/install-browser.sh")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(binary), args=list(CHROMIUM_ARGS))
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page in its own browser context (no cookies shared between tests)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    try:
        yield context.new_page()
    finally:
        context.close()
