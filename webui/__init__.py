"""The Flask application: officers' pages, the JSON API and the CLI, over the engine."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

from engine.models import db

from .extensions import csrf, login_manager, migrate

REPO_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Defaults, then environment, then ``test_config`` (flaskr's order)."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("ZHIFA_SECRET_KEY") or _instance_secret(app),
        SQLALCHEMY_DATABASE_URI=database_url(os.environ.get("DATABASE_URL")
                                             or f"sqlite:///{Path(app.instance_path) / 'zhifa.db'}"),
        SQLALCHEMY_ENGINE_OPTIONS={},
        ZHIFA_PROCESSES_DIR=os.environ.get("ZHIFA_PROCESSES_DIR") or str(REPO_ROOT / "processes"),
        ZHIFA_FORMS_DIR=os.environ.get("ZHIFA_FORMS_DIR") or str(REPO_ROOT / "forms"),
        ZHIFA_SCHEDULER_INTERVAL=float(os.environ.get("ZHIFA_SCHEDULER_INTERVAL") or 1.0),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("ZHIFA_SECURE_COOKIES", "") == "1",
        REMEMBER_COOKIE_HTTPONLY=True,
        WTF_CSRF_CHECK_DEFAULT=False,  # checked in auth.before_request, so bearer-token API calls skip it
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
        JSON_AS_ASCII=False,
    )
    if test_config:
        app.config.update(test_config)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 30, "check_same_thread": False}}
    elif os.environ.get("ZHIFA_PG_PREPARED_STATEMENTS", "1") == "0":
        # A connection pooler that hands each transaction another server connection (PgBouncer in
        # transaction mode before 1.21) cannot carry prepared statements: never prepare then.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"prepare_threshold": None}}
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    db.init_app(app)
    migrate.init_app(app, db, directory=str(REPO_ROOT / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            from engine.db.session import configure_sqlite

            configure_sqlite(db.engine)
        else:
            from engine.db.prepared import keep_prepared_statements

            keep_prepared_statements(db.engine)

    from . import (
        admin,
        auth,
        cases,
        cli,
        designer,
        designer_review,
        documents,
        errors,
        i18n,
        inbox,
        notifications,
        public,
        security,
        supervision,
        tasks,
    )
    from . import case_list as case_list_pages
    from . import case_party as case_party_pages
    from . import evidence as evidence_pages
    from . import time_limit_keys as time_limit_pages
    from . import verify as verify_pages
    from . import workspace as workspace_pages
    from .api import bp as api_bp
    from .api.present import deadline_badge, due_label

    security.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    i18n.init_app(app)
    notifications.init_app(app)
    workspace_pages.init_app(app)
    app.jinja_env.globals.update(due_label=due_label, badge=deadline_badge)
    app.register_blueprint(auth.bp)
    app.register_blueprint(inbox.bp)
    app.register_blueprint(tasks.bp)
    app.register_blueprint(cases.bp)
    app.register_blueprint(case_list_pages.bp)
    app.register_blueprint(case_party_pages.bp)
    app.register_blueprint(documents.bp)
    app.register_blueprint(evidence_pages.bp)
    app.register_blueprint(designer.bp)
    app.register_blueprint(designer_review.bp)
    app.register_blueprint(time_limit_pages.bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(supervision.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(verify_pages.bp)
    cli.init_app(app)
    admin.init_app(app)
    return app


def database_url(url: str) -> str:
    """psycopg 3 is the PostgreSQL driver; accept the usual ``postgres://`` spellings."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _instance_secret(app: Flask) -> str:
    """A per-installation secret kept in the instance folder (never committed, never a constant)."""
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        import secrets

        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
