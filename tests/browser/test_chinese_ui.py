"""Chinese everywhere (issue 17): an officer, a unit head, a designer and an administrator each crawl
every page reachable by links from their landing page, and no English word may be visible in the
Chinese UI — not in the rendered text, not in a title, placeholder, aria-label or alt text.

The crawl follows same-origin links only, GET only (a link is never a state change), skips files
(PDFs, exports, evidence content: anything that is not an HTML page) and is bounded: at most a few
pages of each URL shape (``/tasks/<id>`` is one shape). ``MAX_PAGES`` only guards against a crawl
that never ends: the test fails if it is reached, so every page shape a person can reach is seen.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Page
from sqlalchemy import select

from engine.models import Agency, AuditEvent, Case, OrgUnit, ProcessSpec, User, db
from tests.browser.conftest import Demo, login

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MAX_PAGES = 400
PER_SHAPE = 3  # pages of one URL shape: three task pages show three different forms
# Words that are not English but names the Chinese UI must show as they are; each one justified:
ALLOWED = {
    "English",  # the language switch names the other language in that language, as every bilingual site does
    "zhifa",  # the product's name (window title suffix)
    "PDF", "PNG", "CSV",  # file formats (文书 downloads, the agency's seal image, the supervision export)
    "MB",  # the unit of file size, in "不超过 1 MB"
    "BPMN", "DMN",  # the standards the designer's diagrams and decision tables are written in (流程设计 pages)
    "JSON",  # the designer's form definitions are JSON Schema documents (流程设计, 表单定义)
    "Schema",  # ... "JSON Schema" is the standard's name
    "SHA",  # the hash algorithm (SHA-256) named next to a document's or a file's checksum: a name, not a word
    "EXIF",  # the photo metadata standard the 证据 form names as the source of the shooting time
    "Ctrl",  # the key printed on the keyboard, in "按 Ctrl+P 打印"
}
# Shown as they are, never translated: code a designer or administrator types (<code>, <kbd>, <samp>),
# and the bpmn.io attribution the diagram library's licence requires to stay visible and unchanged.
EXCLUDED = "code, kbd, samp, .bjs-powered-by"
WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-@]*")
URL = re.compile(r"https?://\S+|[\w.+-]+@[\w-]+(\.[\w-]+)+")  # addresses (links, e-mail) are data, not words
SKIP = re.compile(r"/(pdf|download|content|thumb|file|record\.zip|export|static)(/|$|\?)|\.(pdf|zip|png|jpg|svg|json|xml|bpmn|dmn)$")

TEXT_JS = """(excluded) => {
  document.querySelectorAll(excluded).forEach(el => { el.textContent = ''; el.removeAttribute('title'); });
  const attrs = [];
  document.querySelectorAll('[title],[placeholder],[aria-label],img[alt]').forEach(el => {
    for (const name of ['title', 'placeholder', 'aria-label', 'alt']) {
      const v = el.getAttribute(name);
      if (v) { attrs.push(v); }
    }
  });
  return {text: document.body ? document.body.innerText : '', attrs: attrs, title: document.title};
}"""


def english_words(text: str, allowed: set[str]) -> list[str]:
    """The tokens of ``text`` with Latin letters that are neither allowed names nor codes (case numbers)."""
    found = []
    for token in WORD.findall(URL.sub(" ", text)):
        token = token.strip(".-_@")
        if token in allowed or token.upper() in allowed or token.lower() in allowed:
            continue
        if re.search(r"[0-9]", token) or len(re.sub(r"[^A-Za-z]", "", token)) < 2:
            continue  # numbers and codes (case numbers, 核验码, sha256, DEMO-0001-0), a unit letter ("X市")
        if re.fullmatch(r"[A-Z]{8,}", token):
            continue  # a 核验码 that happens to have no digit (ten random capitals)
        found.append(token)
    return found


def url_shape(path: str) -> str:
    """``/admin/users/7`` and ``/admin/users/9`` are one page of two records; ``/admin/users/new`` is another."""
    parts = urlsplit(path)
    segments = parts.path.strip("/").split("/")
    if len(segments) >= 3 and segments[-1] not in ("new", "edit"):
        segments[-1] = "X"
    shape = "/".join(re.sub(r"\d+", "N", s) for s in segments)
    return shape + "?" + ",".join(sorted(part.split("=")[0] for part in parts.query.split("&") if part))


def crawl(page: Page, base: str, allowed: set[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Visit pages breadth-first from the landing page; return the URLs seen and the English found per URL."""
    seen: set[str] = set()
    shapes: dict[str, int] = {}
    queue: deque[str] = deque(["/"])
    visited: list[str] = []
    problems: dict[str, list[str]] = {}
    while queue and len(visited) < MAX_PAGES:
        path = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        shape = url_shape(path)
        if shapes.get(shape, 0) >= PER_SHAPE:
            continue
        probe = page.context.request.get(urljoin(base, path), max_redirects=0)
        if probe.status >= 300 or "text/html" not in probe.headers.get("content-type", ""):
            continue
        shapes[shape] = shapes.get(shape, 0) + 1
        page.goto(path)
        if page.locator("#diagram[data-source]").count():
            page.wait_for_selector("#diagram[data-rendered]")
        visited.append(path)
        links = page.eval_on_selector_all("a[href]", "els => els.map(a => a.getAttribute('href'))")
        content = page.evaluate(TEXT_JS, EXCLUDED)
        words = english_words(content["text"], allowed) + english_words(" ".join(content["attrs"]), allowed) + \
            english_words(content["title"], allowed)
        if words:
            problems[path] = sorted(set(words))
        for href in links:
            target = urlsplit(urljoin(base + path, href))
            if target.netloc != urlsplit(base).netloc or target.scheme not in ("http", "https"):
                continue
            local = target.path + (f"?{target.query}" if target.query else "")
            if SKIP.search(local) or local in seen:
                continue
            queue.append(local)
    return visited, problems


@pytest.mark.parametrize("username", ["a_handler1", "a_head", "designer", "admin"])
def test_no_english_word_on_any_page_a_person_reaches(new_page: Callable[..., Page], demo: Demo, app: Flask,
                                                       live_server: str, username: str) -> None:
    with app.app_context():
        # Names the data gives, not words of the UI: usernames (the demo's display names too) and other
        # actors of the record, unit and agency codes, case numbers, and the process ids a designer chose.
        names = set(db.session.scalars(select(User.username))) | set(db.session.scalars(select(AuditEvent.actor).distinct()))
        names |= set(db.session.scalars(select(OrgUnit.code))) | set(db.session.scalars(select(Agency.code)))
        names |= {n for number in db.session.scalars(select(Case.case_number)) for n in WORD.findall(number)}
        names |= set(db.session.scalars(select(ProcessSpec.process_id).distinct()))
        db.session.remove()
    page = login(new_page(), username)
    visited, problems = crawl(page, live_server, ALLOWED | names)
    assert len(visited) >= 3, f"{username} reached only {visited}"
    assert len(visited) < MAX_PAGES, f"{username}: the crawl stopped at {MAX_PAGES} pages, not every page was seen"
    assert not problems, f"English words in the Chinese UI for {username} (visited {len(visited)} pages): {problems}"
