"""Every route of the app as a request to make: the security matrix and the page-header checks walk them all."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from flask import Flask


def requests(app: Flask, world: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(endpoint, method, url) for every route: GET where it answers GET, then POST/PUT; logout last."""
    rules = sorted((r for r in app.url_map.iter_rules() if r.endpoint != "static"), key=lambda r: (r.endpoint == "auth.logout", r.rule))
    for rule in rules:
        url = rule.rule
        for name in rule.arguments:
            url = re.sub(rf"<(?:[a-z]+:)?{name}>", str(world[name]), url)
        for method in ("GET", "POST", "PUT"):
            if method in (rule.methods or ()):
                yield rule.endpoint, method, url
