"""Fixtures of the end-to-end tests: the headless browser of ``tests/e2e/browser.py`` and the
console service the browser tests share (``tests/e2e/console.py``)."""

from tests.e2e.browser import browser, page
from tests.e2e.console import live

__all__ = ["browser", "live", "page"]
