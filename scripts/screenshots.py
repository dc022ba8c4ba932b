"""Regenerate the console screenshots in docs/screenshots/ (queue.png, entity.png, case.png,
report-pdf-page1.png): the main job (`flowrisk run`) on a small generated world in a temporary
FLOWRISK_HOME, `flowrisk serve` on a free loopback port with that run as the alert queue, and
the installed headless Chromium (scripts/install-browser.sh) driven by Playwright through an
analyst's session: the queue, the top alert's entity page with its money network, a case
opened from it with notes, and the first page of the case PDF (rendered by pdftoppm). Nothing
is fetched from the internet.

    python scripts/screenshots.py [--out docs/screenshots] [--entities 3000] [--seed 8]
    python scripts/screenshots.py --home DIR   # a FLOWRISK_HOME where `flowrisk run` has run
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FLOWRISK = [sys.executable, "-m", "flowrisk"]
CASE_REFERENCE = "FIU-2026-0142"
# a closed network's flags: no background connections, no component updates
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NOTES = (
    "Cash deposits at four branches in one week, each just under the reporting threshold.",
    "Asked the bank for the account opening file and the declared activity.",
)


def _flowrisk(env: dict[str, str], *args: str) -> str:
    """Run ``flowrisk ARGS``; its standard output (stop with its error when it fails)."""
    done = subprocess.run([*FLOWRISK, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"flowrisk {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


@contextmanager
def _serving(env: dict[str, str], home: Path, dataset: Path) -> Iterator[str]:
    """`flowrisk serve` over ``home`` until the block ends; yields its base URL."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["serve", "--port", str(port), "--dataset", str(dataset), "--scores"]
    with (home / "server.log").open("wb") as log:
        proc = subprocess.Popen(
            [*FLOWRISK, *args, str(home / "scores")],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 120
            while not _ready(f"{url}/readyz"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = (home / "server.log").read_text(errors="replace")[-3000:]
                    sys.exit(f"flowrisk serve did not start:\n{tail}")
                time.sleep(0.5)
            yield url
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)


def _save(
    page: Any, out: Path, name: str, *, full_page: bool = False, until: str | None = None
) -> Path:
    """A screenshot (the window, the whole page, or the page from its top to the bottom of
    the ``until`` element) written next to its final name, then moved over it."""
    target = out / name
    partial = out / f".{name}.partial.png"
    if until is None:
        page.screenshot(path=str(partial), full_page=full_page)
    else:
        box = page.locator(until).bounding_box()
        clip = {"x": 0, "y": 0, "width": 1280, "height": box["y"] + box["height"] + 16}
        page.screenshot(path=str(partial), full_page=True, clip=clip)
    os.replace(partial, target)
    print(f"wrote {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
    return target


def _pdf_page_one(pdf: Path, out: Path) -> None:
    """The PDF's first page as report-pdf-page1.png (pdftoppm, 100 dpi)."""
    if shutil.which("pdftoppm") is None:
        sys.exit("pdftoppm is missing: install poppler-utils")
    stem = pdf.with_suffix("")
    cmd = ["pdftoppm", "-png", "-r", "100", "-f", "1", "-l", "1", "-singlefile"]
    subprocess.run([*cmd, str(pdf), str(stem)], check=True)
    target = out / "report-pdf-page1.png"
    os.replace(stem.with_suffix(".png"), target)
    print(f"wrote {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")


def _case_pdf(page: Any, env: dict[str, str], dataset: Path, entity: str, work: Path) -> Path:
    """The case PDF: the case page's download when the console offers one, else the same
    report from `flowrisk report --format pdf`."""
    pdf = work / "case.pdf"
    link = page.locator("a[href$='.pdf'], a[href*='/pdf']")
    if link.count() > 0:
        href = str(link.first.get_attribute("href"))
        reply = page.request.get(urllib.parse.urljoin(page.url, href), timeout=180_000)
        if reply.ok and reply.body().startswith(b"%PDF"):
            pdf.write_bytes(reply.body())
            return pdf
    args = ["report", str(dataset), entity, "--purpose", CASE_REFERENCE, "--format", "pdf"]
    _flowrisk(env, *args, "--out", str(pdf), "--no-verify")
    return pdf


def _drive(url: str, key: str, out: Path, env: dict[str, str], dataset: Path, work: Path) -> None:
    """Sign in, then the queue, the top alert's entity page, a case on it with notes, and the
    case PDF's first page."""
    from playwright.sync_api import sync_playwright

    binary = os.environ.get("FLOWRISK_CHROMIUM") or shutil.which("chromium")
    if not binary:
        sys.exit("no Chromium: run scripts/install-browser.sh")
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=binary, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
        page = context.new_page()
        page.goto(f"{url}/ui")
        page.fill("#key", key)
        page.click("button[type=submit]")
        page.fill("#purpose", f"case {CASE_REFERENCE}")
        page.click("main button[type=submit]")
        page.wait_for_url("**/ui/queue")
        _save(page, out, "queue.png")

        top = page.locator("table.queue tbody tr").first.locator("td:nth-child(2) a")
        entity = top.inner_text()
        top.click()
        page.wait_for_url(f"**/ui/entities/{entity}")
        _save(page, out, "entity.png", until="#network")

        existing = page.locator(".case-line a")  # a reused home: the case in progress
        (existing if existing.count() else page.locator("form.open-case button")).click()
        page.wait_for_url("**/ui/cases/C-*")
        for note in NOTES:
            page.fill("textarea[name=text]", note)
            page.click("text=Add note")
        move = "form[action$='/status']"
        if page.locator(f"{move} option[value=in_review]").count():
            page.select_option(f"{move} select[name=status]", "in_review")
            page.fill(f"{move} input[name=note]", "awaiting the bank's file")
            page.click(f"{move} button")
        _save(page, out, "case.png", full_page=True)
        _pdf_page_one(_case_pdf(page, env, dataset, entity, work), out)
        context.close()
        browser.close()


def main(argv: list[str] | None = None) -> int:
    """Build the small world, serve it, and write the four screenshots under ``--out``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--entities", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--home", type=Path, help="reuse the main job of this FLOWRISK_HOME")
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="flowrisk-screenshots-") as tmp:
        work = Path(tmp)
        home = args.home.resolve() if args.home else work / "home"
        env = {**os.environ, "FLOWRISK_HOME": str(home), "FLOWRISK_LOCALE": "en"}
        for inherited in ("FLOWRISK_MLFLOW_URI", "FLOWRISK_DATABASE_URL", "FLOWRISK_AUDIT_URL"):
            env.pop(inherited, None)
        env.setdefault("FLOWRISK_REPORTING_ENTITY_ID", "FIU-DEMO-0001")
        if not (home / "scores" / "run.json").exists():
            print(f"the main job on {args.entities:,} generated entities in {home} ...")
            _flowrisk(env, "run", "--entities", str(args.entities), "--seed", str(args.seed))
        made = _flowrisk(env, "keys", "create", "--role", "analyst", "--label", "A. Martin")
        key = made.strip().splitlines()[-1]
        dataset = home / "data" / "validated" / "accepted"
        with _serving(env, home, dataset) as url:
            _drive(url, key, out, env, dataset, work)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
