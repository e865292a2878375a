"""Screenshots of browser-test pages for a person to look at, in /tmp/shots/h4/ (or $ZHIFA_SHOTS)."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Page

SHOTS = Path(os.environ.get("ZHIFA_SHOTS", "/tmp/shots/h4"))


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
