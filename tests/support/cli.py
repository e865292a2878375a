"""Running the ``zhifa`` command against the test app, as a shell would (exit code and output)."""

from __future__ import annotations

from flask.cli import ScriptInfo


def invoke(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args), obj=ScriptInfo(create_app=lambda: app))
