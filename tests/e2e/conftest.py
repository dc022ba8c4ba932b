"""Fixtures of the end-to-end tests: the headless browser of ``tests/e2e/browser.py``."""

from tests.e2e.browser import browser, page

__all__ = ["browser", "page"]
