"""The ``zhifa`` command (a Flask CLI group): a thin layer over engine functions."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys
import threading
from pathlib import Path

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate import upgrade
from sqlalchemy import select

from engine import clock
from engine.admin.delivery import deliver
from engine.admin.users import add_user_credential, create_user, ensure_roles, ensure_unit, issue_token
from engine.casefile.verify import verify_record
from engine.db.session import writing
from engine.deadlines.limits import seed_reference_data
from engine.definitions import Bundle, deploy_bundle
from engine.definitions.deploy import latest_deployment
from engine.definitions.review_policy import review_required
from engine.definitions.versions import deployment_bundle, merged_with_latest
from engine.errors import ZhifaError
from engine.models import Deployment, OrgUnit, User, db
from engine.models.search import catch_up
from engine.runtime import fire_due_timers
from engine.runtime.assignment import offer_pending_tasks


def init_app(app: Flask) -> None:
    for command in (run, deploy, demo, worker, tick, audit_group, users):
        app.cli.add_command(command)
    app.cli.add_command(_db_group(), name="db")


def _db_group() -> click.Group:
    """Flask-Migrate's ``db`` group, whose ``upgrade`` to the head also brings in reference data a release
    ships (new time-limit keys, engine/deadlines/limits.py): an operator who upgrades the schema and
    starts a WSGI server without ``zhifa run`` still gets them. The other subcommands are Flask-Migrate's."""
    from flask_migrate.cli import db as migrate_db

    original = migrate_db.commands["upgrade"]

    @with_appcontext
    def upgrade_and_seed(**options: object) -> None:
        click.get_current_context().invoke(original, **options)
        if options.get("sql") or options.get("revision") not in (None, "head", "heads"):
            return  # an offline script or a partial upgrade: the tables may not be the current ones yet
        with writing():
            if seed_reference_data():
                click.echo("已载入新版本附带的参考数据 (reference data shipped with this release added)")

    group = click.Group("db", commands=dict(migrate_db.commands), params=migrate_db.params, callback=migrate_db.callback,
                        help=migrate_db.help)
    group.add_command(click.Command("upgrade", params=original.params, callback=upgrade_and_seed, help=original.help), "upgrade")
    return group


def main() -> None:
    from . import create_app

    cli = FlaskGroup(create_app=lambda *_a, **_k: create_app(), add_default_commands=False, add_version_option=False)
    cli.help = "zhifa 执法 — administrative enforcement case procedures."
    cli(prog_name="zhifa")


def prepare_database(app: Flask, with_demo: bool = True) -> None:
    """Upgrade the schema, seed reference data, deploy the shipped library if it changed, demo data if empty."""
    upgrade(directory=app.extensions["migrate"].directory)
    with writing():
        _seed_and_deploy(app, with_demo)
        db.session.commit()


def _seed_and_deploy(app: Flask, with_demo: bool) -> None:
    ensure_roles()
    seed_reference_data()
    db.session.commit()
    deploy_shipped_library(Path(app.config["ZHIFA_PROCESSES_DIR"]), Path(app.config["ZHIFA_FORMS_DIR"]))
    if with_demo and db.session.scalars(select(User.id).limit(1)).first() is None:
        from engine.demo.seed import load_demo

        load_demo()


SHIPPED = "shipped process library"


def deploy_directory(processes: Path, forms: Path, comment: str = "", replace_all: bool = False, actor: str = "cli") -> int:
    """The directory's files merged into the latest deployment (``replace_all``: they alone), deployed
    by the platform's operator: not a designer's change, so never held for review (review_policy.py)."""
    bundle = merged_with_latest(Bundle.from_directories(processes, forms), replace_all)
    return deploy_bundle(bundle, actor, comment).id


def deploy_shipped_library(processes: Path, forms: Path) -> int | None:
    """At start-up: the shipped files that changed since the shipped library was last deployed (an
    upgrade of zhifa), merged into the latest deployment. Designers' approved changes and new
    procedures stay; a restart with an unchanged shipped library deploys nothing."""
    shipped = Bundle.from_directories(processes, forms)
    latest = latest_deployment()
    if latest is None:
        return deploy_bundle(shipped, "system", SHIPPED).id
    previous = db.session.scalars(select(Deployment).where(Deployment.created_by == "system", Deployment.comment == SHIPPED)
                                  .order_by(Deployment.id.desc()).limit(1)).first()
    before = {f.path: f.sha256 for f in previous.files} if previous is not None else {}
    changed = [f for f in shipped.files if before.get(f.path) != f.sha256]
    if not changed:
        return None  # the usual restart: no file of the latest deployment is read
    bundle = deployment_bundle(latest).replace(changed)
    if bundle.hash == latest.bundle_hash:
        return None
    return deploy_bundle(bundle, "system", SHIPPED).id


@click.command("run", help="升级数据库、部署流程、载入演示数据并启动服务 (serve with the in-process scheduler).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-demo", is_flag=True, help="do not load demo data into an empty database")
@with_appcontext
def run(host: str, port: int, no_demo: bool) -> None:
    from flask import current_app
    from waitress import serve

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    prepare_database(app, with_demo=not no_demo)
    stop = threading.Event()
    threading.Thread(target=scheduler_loop, args=(app, stop), daemon=True, name="zhifa-scheduler").start()
    click.echo(f"zhifa 已启动: http://{host}:{port}/  (Ctrl+C 停止)")
    try:
        serve(app, host=host, port=port, threads=8)
    finally:
        stop.set()


def scheduler_loop(app: Flask, stop: threading.Event, report: bool = False) -> None:
    """Sweep what is due every ``ZHIFA_SCHEDULER_INTERVAL`` seconds until ``stop`` is set.

    With ``report`` (``zhifa worker``) every sweep that did something prints one line, so an
    operator (and the multi-worker test) can see which process fired what.
    """
    interval = float(app.config["ZHIFA_SCHEDULER_INTERVAL"])
    pid = os.getpid()
    while not stop.is_set():
        with app.app_context():
            try:
                result = fire_due_timers()
                # Small batches after the timers: a backlog (after a bulk import, a long outage) is worked
                # off over several sweeps and never makes the next sweep's timers late.
                offer_pending_tasks(limit=100)  # "可认领的新任务" for the pool steps of the last commands
                deliver()  # e-mail digest and webhook (engine/admin/delivery.py): off unless configured
                catch_up(limit=200)  # the case-search rows of cases changed since (engine/models/search.py)
                if report and (result.fired or result.failed or result.near_due or result.overdue):
                    click.echo(f"worker pid={pid} fired={len(result.fired)} failed={len(result.failed)} "
                               f"near_due={result.near_due} overdue={result.overdue}")
                    sys.stdout.flush()  # a line per sweep, visible at once even when stdout is a file
            except Exception:  # noqa: BLE001 - the loop must outlive a database hiccup
                app.logger.exception("scheduler sweep failed")
                db.session.rollback()
            finally:
                db.session.remove()
        stop.wait(interval)


@click.command("worker", help="生产环境的定时任务进程 (a scheduler process; run any number against PostgreSQL).")
@with_appcontext
def worker() -> None:
    from flask import current_app

    stop = threading.Event()
    # SIGTERM/SIGINT end the loop after the sweep in progress: a deploy or scale-down never cuts one.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    click.echo("zhifa worker started")
    sys.stdout.flush()
    scheduler_loop(current_app._get_current_object(), stop, report=True)  # type: ignore[attr-defined]
    click.echo("zhifa worker stopped")


@click.command("deploy", help=(
    "部署目录 DIR 中的 BPMN/DMN/表单：并入最新版本（同名文件替换，其余文件保留），与 POST /api/v1/deployments 相同；"
    "--replace-all 则以该目录的文件替换整个流程库。命令行以平台运维身份直接部署并生效，不经四眼审核（记入审计）。\n\n"
    "Deploy the BPMN/DMN/form files of DIR (DIR/processes and DIR/forms, or DIR itself), merged into the latest "
    "deployment: same-named files are replaced, the others kept, as POST /api/v1/deployments does; --replace-all "
    "makes DIR's files the whole library. The CLI deploys as the platform operator, directly and audited: it is "
    "not held for four-eyes review, and it makes pending review submissions stale."))
@click.argument("directory", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--comment", default="")
@click.option("--replace-all", "replace_all", is_flag=True,
              help="以 DIR 替换整个流程库 (DIR's files become the whole library; as the API's replace_all)")
@with_appcontext
def deploy(directory: Path | None, comment: str, replace_all: bool) -> None:
    from flask import current_app

    if directory is None:
        processes, forms = Path(current_app.config["ZHIFA_PROCESSES_DIR"]), Path(current_app.config["ZHIFA_FORMS_DIR"])
    elif (directory / "processes").is_dir():
        processes, forms = directory / "processes", directory / "forms"
    else:
        processes = forms = directory
    schema_ready(current_app._get_current_object())  # type: ignore[attr-defined]
    try:
        with writing():
            ensure_roles()
            seed_reference_data()  # lint needs the time-limit registry, even on a database set up by hand
            db.session.commit()
        before = latest_deployment()
        deployment_id = deploy_directory(processes, forms, comment, replace_all=replace_all)
    except ZhifaError as exc:
        click.echo(exc.message, err=True)
        for problem in exc.details or []:
            click.echo(f"  {problem['file']}:{problem.get('line') or ''} [{problem.get('element') or ''}] "
                       f"{problem['message']}", err=True)
        sys.exit(1)
    click.echo(f"deployment {deployment_id}")
    if before is not None and not replace_all:
        click.echo(f"已并入版本 #{before.id}：同名文件已替换，其余文件保留 "
                   f"(merged into deployment #{before.id}; --replace-all replaces it all)")
    if review_required():
        click.echo("以平台运维身份直接部署，未经部署审核（已记入审计）(deployed by the operator, not held for review; audited)")


def schema_ready(app: Flask) -> None:
    """``zhifa deploy`` needs the current schema. A database never upgraded (no tables yet) is created
    here, as ``zhifa run`` would; one at an older revision is left alone with what to do: changing a
    production schema is a step an operator takes on purpose (``zhifa db upgrade``), not a side effect."""
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    migrate = app.extensions["migrate"]
    heads = set(ScriptDirectory.from_config(migrate.migrate.get_config(migrate.directory)).get_heads())
    with db.engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if current == heads:
        return
    if not current:
        click.echo("数据库尚未初始化，正在创建数据表 (the database was never upgraded: creating its tables)")
        upgrade(directory=migrate.directory)
        return
    raise click.ClickException(
        f"数据库版本 {', '.join(sorted(current))} 不是当前版本 {', '.join(sorted(heads))}：请先运行 zhifa db upgrade 再部署 "
        "(the database schema is not current: run `zhifa db upgrade` first)")


@click.command("demo", help="载入演示用户与案件 (load demo users and cases).")
@with_appcontext
def demo() -> None:
    from engine.demo.seed import load_demo

    with writing():
        ensure_roles()
        seed_reference_data()
        db.session.commit()
        load_demo()
    click.echo("demo data loaded")


@click.command("tick", help="触发到期定时器 (fire due timers now, or as of --now for drills).")
@click.option("--now", "now_iso", default=None, help="ISO datetime with offset, e.g. 2026-03-01T09:00:00+08:00")
@with_appcontext
def tick(now_iso: str | None) -> None:
    now = clock.now()
    if now_iso:
        now = dt.datetime.fromisoformat(now_iso)
        if now.tzinfo is None:
            raise click.BadParameter("--now needs a UTC offset, e.g. +08:00")
    with clock.use_clock(clock.FrozenClock(now)):
        result = fire_due_timers(now)
    click.echo(f"fired {len(result.fired)} timers, {len(result.failed)} failed, "
               f"{result.near_due} near due, {result.overdue} overdue")
    for instance_id, error in result.failed.items():
        click.echo(f"  instance {instance_id}: {error}", err=True)


@click.group("audit", help="全过程记录 (the audit chain).")
def audit_group() -> None:
    pass


@audit_group.command("verify", help="校验审计哈希链 (report edited, deleted or reordered rows).")
@click.option("--case", "case_id", type=int, default=None)
@with_appcontext
def verify(case_id: int | None) -> None:
    findings = verify_record(case_id)
    if findings:
        for finding in findings:
            click.echo(str(finding))
        click.echo(f"FAILED: {len(findings)} problem(s)")
        sys.exit(1)
    click.echo("OK: audit chain intact")


@audit_group.command("export", help="导出案卷 zip（文书、办案记录及其哈希），可离线校验 (export a case file).")
@click.option("--case", "case_id", type=int, required=True)
@click.option("--as", "username", default="admin", show_default=True, help="导出人（须有权查看该案件）")
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), default=None)
@with_appcontext
def audit_export(case_id: int, username: str, out: str | None) -> None:
    from engine.casefile.export import export_case_file

    actor = db.session.scalars(select(User).where(User.username == username)).first()
    if actor is None:
        raise click.ClickException(f"用户 {username} 不存在 (no such user)")
    name, content = export_case_file(actor, case_id)
    path = Path(out or name)
    path.write_bytes(content)
    click.echo(f"{path} ({len(content)} bytes)")
    click.echo(f"校验 (verify offline): unzip -p {path} verify.py | python3 - {path}")


@audit_group.command("verify-file", help="离线校验导出的案卷 zip (verify an exported case file).")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def audit_verify_file(path: str) -> None:
    from engine.record.offline_check import main as verify_main

    sys.exit(verify_main(["verify.py", path]))


@click.group("users", help="用户与令牌 (users and API tokens).")
def users() -> None:
    pass


@users.command("create")
@click.argument("name")
@click.option("--unit", required=True)
@click.option("--role", "roles", multiple=True, required=True)
@click.option("--password", default=None)
@click.option("--display-name", default="")
@click.option("--credential", "credentials", multiple=True, metavar="KIND:NUMBER[:EXPIRES]",
              help="证件，如 law_enforcement:执法证号:2030-12-31 (a credential: handler steps need a valid 执法证)")
@with_appcontext
def users_create(name: str, unit: str, roles: tuple[str, ...], password: str | None, display_name: str,
                 credentials: tuple[str, ...]) -> None:
    try:
        with writing():
            if db.session.scalars(select(OrgUnit.id).where(OrgUnit.code == unit)).first() is None:
                ensure_unit(unit)
                click.echo(f"created unit {unit}")
            user, password_out = create_user(name, unit, list(roles), password, display_name, actor="cli")
            for text in credentials:
                kind, _, rest = text.partition(":")
                number, _, expires = rest.partition(":")
                try:
                    expires_on = dt.date.fromisoformat(expires) if expires else None
                except ValueError:
                    raise ZhifaError(f"证件有效期“{expires}”应为 YYYY-MM-DD (credential expiry must be YYYY-MM-DD)")
                add_user_credential(user, kind, number, expires_on, actor="cli")
            db.session.commit()
    except ZhifaError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message)
    click.echo(f"created {name}" + ("" if password else f" with password {password_out}"))


@users.command("token")
@click.argument("name")
@with_appcontext
def users_token(name: str) -> None:
    user = db.session.scalars(select(User).where(User.username == name)).first()
    if user is None:
        raise click.ClickException(f"no such user: {name}")
    with writing():
        token = issue_token(user, actor="cli")
        db.session.commit()
    click.echo(token)


