"""``zhifa deploy`` on a database that was never upgraded creates its tables; on one at an older
revision it says to run ``zhifa db upgrade`` (no traceback either way)."""

from __future__ import annotations

from flask_migrate import upgrade

from engine.models import db
from tests.conftest import DATA
from webui import create_app


def _app(tmp_path):
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'fresh.db'}", "SECRET_KEY": "x"})


def test_deploy_on_a_database_never_upgraded_creates_it_then_deploys(tmp_path):
    app = _app(tmp_path)
    result = app.test_cli_runner().invoke(args=["deploy", str(DATA / "mini")])
    assert result.exit_code == 0, result.output
    assert "正在创建数据表" in result.output and "deployment 1" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_deploy_on_an_outdated_database_says_to_run_db_upgrade(tmp_path):
    app = _app(tmp_path)
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory, revision="0001")
        db.engine.dispose()
    result = app.test_cli_runner().invoke(args=["deploy", str(DATA / "mini")])
    assert result.exit_code == 1
    assert "zhifa db upgrade" in result.output and "Traceback" not in result.output
