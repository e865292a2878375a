"""Property-based fuzzing (Hypothesis): forms, expressions, uploads and the OpenAPI contract.

Every test here is bounded: a fixed number of examples (scaled by ``ZHIFA_FUZZ_SCALE``, default 1)
and a per-example deadline, so the whole package stays near a minute on two cores. Profiles:

- ``dev`` (default): random examples each run, which is how new failures get found;
- ``ci`` (``CI`` set, or ``HYPOTHESIS_PROFILE=ci``): derandomized, so a CI run is reproducible and
  never fails on a different draw than the developer saw; no example database is written;
- ``thorough`` (``HYPOTHESIS_PROFILE=thorough``): ten times the examples, for a long local run.

A failure prints the shrunk example and a ``@reproduce_failure`` blob.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, settings

_COMMON: dict[str, Any] = {
    "database": None,  # no .hypothesis/ directory in the work tree
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
    "print_blob": True,
}
settings.register_profile("dev", **_COMMON)
settings.register_profile("ci", derandomize=True, **_COMMON)
settings.register_profile("thorough", **_COMMON)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
settings.load_profile(PROFILE)
SCALE = float(os.environ.get("ZHIFA_FUZZ_SCALE") or (10 if PROFILE == "thorough" else 1))


def fuzz(examples: int, deadline_ms: int = 5_000) -> Callable[[Any], Any]:
    """``@fuzz(100)``: this many examples (times the scale), each within ``deadline_ms``.

    The deadline is generous on purpose (a first request compiles templates and specs on a slow CI
    core); the properties that need a tight time bound assert it themselves.
    """
    return settings(max_examples=max(1, round(examples * SCALE)), deadline=deadline_ms)
