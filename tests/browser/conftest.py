"""Browser fixtures: the app served on a free port, Debian's headless Chromium driven by Playwright,
the shipped procedures with the demo users and cases, and a one-line login through the page.

One browser per run, one context per page (cookies never leak between officers). The browser is
the system one at /usr/bin/chromium (``apt-get install chromium``; scripts/test installs it):
Playwright never downloads its own.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from sqlalchemy import select
from werkzeug.serving import make_server

from engine import clock
from engine.demo.seed import DEMO_PASSWORD, load_demo
from engine.models import Case, Task, db
from tests.conftest import ROOT, deploy_dir

CHROMIUM = Path(os.environ.get("ZHIFA_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 10_000  # a page that needs longer than this is a bug worth a failure, not a wait
TABLET = {"width": 768, "height": 1024}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives the pages in headless Chromium (part of the default suite)")


@pytest.fixture(scope="session")
def live_server(app: Flask) -> Iterator[str]:
    """The session app on 127.0.0.1 at a free port, one thread per request (pages load assets in parallel)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="zhifa-live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"browser tests need Chromium at {CHROMIUM}: run `apt-get install -y chromium` as root "
                    "(scripts/test does), or point ZHIFA_CHROMIUM at a Chromium binary", pytrace=False)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@dataclass(frozen=True)
class DemoTask:
    task_id: str
    case_id: int
    case_number: str
    bpmn_id: str
    name: str


@dataclass(frozen=True)
class Demo:
    """The demo cases by party name: the open task of each (the ones officers act on)."""

    open_tasks: dict[str, DemoTask]

    def task(self, party_name: str) -> DemoTask:
        return self.open_tasks[party_name]


@pytest.fixture
def demo(app: Flask, frozen: clock.FrozenClock) -> Demo:
    """The shipped procedures, the demo units, users (password ``zhifa-demo-2026``) and cases."""
    with app.app_context():
        deploy_dir(ROOT)
        load_demo()
        rows = db.session.execute(
            select(Task, Case).join(Case, Case.id == Task.case_id).where(Task.status == "open")
        ).all()
        open_tasks = {case.party_name: DemoTask(task.id, case.id, case.case_number, task.bpmn_id, task.name)
                      for task, case in rows}
        db.session.remove()
    return Demo(open_tasks)


@pytest.fixture
def new_page(browser: Browser, live_server: str) -> Iterator[Callable[..., Page]]:
    """``new_page(viewport=None)``: a page in a fresh browser context (its own cookies), closed after the test."""
    contexts: list[BrowserContext] = []

    def make(viewport: dict[str, int] | None = None) -> Page:
        context = browser.new_context(base_url=live_server, locale="zh-CN", **({"viewport": viewport} if viewport else {}))
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.js_errors = errors  # type: ignore[attr-defined]  # uncaught exceptions in the page, for assertions
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    return new_page()


def login(page: Page, username: str, password: str = DEMO_PASSWORD) -> Page:
    """Log in through form#login and land on the inbox."""
    page.goto("/login")
    form = page.locator("form#login")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(password)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert "/login" not in page.url, f"login as {username} failed: still on {page.url}"
    return page
