"""The built HTML book, served on localhost and opened in headless Debian Chromium (no browser download).

Each page of the table of contents is loaded once; everything the tests ask about it (console errors,
requests that left localhost, images, launch links, static controls, Hangul rendering, English UI
strings) is collected in one visit and cached for the session.

    make book && make browser          # or: python -m pytest -q tests/browser
    CONVVIS_TOC=/tmp/toc.yml ...      # pages of another toc (for a partial build)
"""
from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

from bookpages import BUILD

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SETTLE_MS = 1500  # after "load": widgets render on load, MathJax typesets asynchronously


@pytest.fixture(scope="session")
def book() -> Path:
    """The built book; the browser tests fail (not skip) when it is missing."""
    if not (BUILD / "index.html").is_file():
        pytest.fail(f"no built book at {BUILD}: run `make book` first")
    return BUILD


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="session")
def server(book: Path):
    """http://127.0.0.1:PORT/ serving the built book (stopped at the end of the session)."""
    handler = functools.partial(_QuietHandler, directory=str(book))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (scripts/system_deps.sh)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def is_local(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in ("data", "blob", "about") or parsed.hostname in ("127.0.0.1", "localhost")


@pytest.fixture(scope="session")
def open_page(browser, server):
    """open_page(docname) -> (page, log): a fresh tab on the page, external requests blocked and logged."""
    contexts = []

    def _open(path: str, viewport=(1300, 1000)):
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, locale="ko-KR")
        contexts.append(context)
        log = {"console_errors": [], "page_errors": [], "external": [], "failed": []}

        def route(r):
            if is_local(r.request.url):
                r.continue_()
            else:
                log["external"].append(r.request.url)
                r.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and log["console_errors"].append(m.text))
        page.on("pageerror", lambda e: log["page_errors"].append(str(e)))
        page.on("requestfailed", lambda r: is_local(r.url) and log["failed"].append(r.url))
        page.on("response", lambda r: r.status >= 400 and log["failed"].append(f"{r.status} {r.url}"))
        page.goto(server + path, wait_until="load")
        page.wait_for_timeout(SETTLE_MS)
        return page, log

    yield _open
    for context in contexts:
        context.close()
