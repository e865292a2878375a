"""Observation probe for tests/test_workers.py, loaded by the ``zhifa worker`` subprocesses only.

The test puts this folder on ``PYTHONPATH`` and sets ``ZHIFA_WORKER_PROBE=1``; Python then imports
this module at start-up, before ``webui.cli`` binds ``fire_due_timers``. The wrapper calls the real
sweep unchanged and prints how many timers this process fired, so the test can tell which worker
did the work (audit rows do not name the process). Without the variable it does nothing.
"""

from __future__ import annotations

import os

if os.environ.get("ZHIFA_WORKER_PROBE") == "1":
    import functools
    import sys

    import engine.runtime
    import engine.runtime.timers

    _real = engine.runtime.timers.fire_due_timers

    @functools.wraps(_real)
    def _probed(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        result = _real(*args, **kwargs)
        if result.fired or result.failed:
            print(f"probe pid={os.getpid()} fired={len(result.fired)} failed={len(result.failed)}", flush=True)
        return result

    engine.runtime.fire_due_timers = _probed
    print(f"probe pid={os.getpid()} installed", file=sys.stderr, flush=True)
