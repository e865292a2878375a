"""Every in-process cache of database state, cleared by one call.

Engine modules keep a few caches of what the database holds (reference data, parsed specs, form
schemas, document labels), each keyed by ids or revisions. Whoever replaces the database under a
running process — the tests, which empty it after each test and so reuse ids — must clear them all
at once, or a later test reads an earlier test's spec. Each cache registers its clearing function
here when its module is imported; ``clear_all`` calls them. Caches of pure functions of their
arguments (compiled expressions) need not register.
"""

from __future__ import annotations

from collections.abc import Callable

_CLEARERS: list[Callable[[], None]] = []


def register(clear: Callable[[], None]) -> Callable[[], None]:
    """Register a function that empties one cache (usable as a decorator)."""
    if clear not in _CLEARERS:
        _CLEARERS.append(clear)
    return clear


def clear_all() -> None:
    """Empty every registered cache."""
    for clear in _CLEARERS:
        clear()
