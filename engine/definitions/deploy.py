"""Turn a validated bundle into an immutable deployment that new cases use at once."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select

from engine import clock
from engine.db.command import command
from engine.deadlines.reference import bump_revision
from engine.definitions.bundle import Bundle
from engine.definitions.lint import lint
from engine.definitions.parse import BLOCKING, ParsedBundle, parse_bundle
from engine.definitions.problems import Problem
from engine.definitions.procedures import process_properties
from engine.definitions.review_policy import review_required
from engine.definitions.serialization import specs_to_json
from engine.errors import DeploymentInvalid, Forbidden
from engine.models import ActiveProcess, Deployment, DeploymentFile, ProcessSpec, TimeLimit, db
from engine.policy.actor import Actor, SystemActor, as_actor
from engine.policy.permissions import require
from engine.record import audit


def validate_bundle(bundle: Bundle) -> tuple[ParsedBundle, list[Problem]]:
    """Every problem of a bundle (XML, XSD, references, lint, expressions, forms); changes nothing."""
    parsed = parse_bundle(bundle)
    problems = list(parsed.problems)
    if not any(p.kind in BLOCKING for p in problems):
        keys = set(db.session.scalars(select(TimeLimit.key)))
        problems += lint(parsed, keys)
    return parsed, problems


def latest_deployment() -> Deployment | None:
    return db.session.scalars(select(Deployment).order_by(Deployment.id.desc()).limit(1)).first()


@command
def deploy_bundle(bundle: Bundle, actor: Actor | str, comment: str = "", skip_if_unchanged: bool = False) -> Deployment:
    """Validate, store and activate ``bundle`` in one transaction; refuse it whole on any problem.

    ``actor`` is the designer (a ``User``), or the name of a script deploying as the platform
    (``"system"`` at start-up, ``"cli"``). Where deployments need review (review_policy.py) a
    designer submits instead (review.py); the platform's operator deploys directly."""
    actor = as_actor(actor)
    require(actor, "procedure.edit")
    if not isinstance(actor, SystemActor) and review_required():
        raise Forbidden(
            "本系统的流程部署须经第二人审核（四眼原则）：请提交审核，由法制审核人员或系统管理员批准后生效 "
            "(deployments here need a second person's approval: submit the version for review instead)",
            details={"rule": "procedure.four_eyes"})
    return store_and_activate(bundle, actor.username, comment, skip_if_unchanged)


def store_and_activate(bundle: Bundle, actor: str, comment: str, skip_if_unchanged: bool = False,
                       author: str | None = None, audit_data: dict[str, Any] | None = None) -> Deployment:
    """The deployment itself, for commands that have already checked who may do it: ``deploy_bundle``,
    an approval (engine/definitions/review.py) and a rollback (engine/definitions/versions.py).

    ``actor`` activates the version; ``author`` (default: the actor) is who made it — the designer
    whose submission a reviewer approved."""
    if skip_if_unchanged:
        latest = latest_deployment()
        if latest is not None and latest.bundle_hash == bundle.hash:
            return latest
    parsed, problems = validate_bundle(bundle)
    if problems:
        raise invalid(problems)
    now = clock.now()
    deployment = Deployment(bundle_hash=bundle.hash, created_at=now, created_by=author or actor, comment=comment)
    db.session.add(deployment)
    for f in bundle.files:
        db.session.add(DeploymentFile(
            deployment=deployment, path=f.path, kind=f.kind, sha256=f.sha256, content=f.content.decode("utf-8")
        ))
    db.session.flush()
    activated = []
    called = {name for _spec, subs in parsed.specs.values() for name in subs}
    for process_id, (spec, subprocess_specs) in sorted(parsed.specs.items()):
        spec_json = specs_to_json(spec, subprocess_specs)
        row = ProcessSpec(
            deployment_id=deployment.id,
            process_id=process_id,
            name=parsed.process_names.get(process_id, process_id),
            spec_json=spec_json,
            # The <process> properties (label, clock_key…) are part of what a version is: a changed one activates it.
            spec_hash=hashlib.sha256((spec_json + process_properties(parsed, process_id)).encode()).hexdigest(),
            startable=process_id not in called or _marked_startable(parsed, process_id),
        )
        db.session.add(row)
        db.session.flush()
        active = db.session.get(ActiveProcess, process_id)
        if active is None:
            db.session.add(ActiveProcess(process_id=process_id, process_spec_id=row.id, activated_at=now, activated_by=actor))
        elif active.spec.spec_hash != row.spec_hash:
            active.process_spec_id = row.id
            active.activated_at = now
            active.activated_by = actor
            active.version += 1
        else:
            continue
        activated.append(process_id)
    bump_revision()
    audit.record(
        action="deployment.created",
        actor=actor,
        data={"deployment": deployment.id, "bundle_hash": bundle.hash, "comment": comment, "activated": activated,
              "files": {f.path: f.sha256 for f in bundle.files}, **(audit_data or {})},
    )
    return deployment


def invalid(problems: list[Problem]) -> DeploymentInvalid:
    """The refusal of a bundle with problems: the count, the first three, every one in ``details``."""
    first = "; ".join(str(p) for p in problems[:3])
    return DeploymentInvalid(f"部署未通过校验，共 {len(problems)} 个问题 (deployment rejected, {len(problems)} problems): {first}",
                             details=[p.to_dict() for p in problems])


def _marked_startable(parsed: ParsedBundle, process_id: str) -> bool:
    """A called process is call-only unless it says otherwise: 告知承诺制 continues a case as the
    ordinary procedure (a call activity), which must still be startable on its own."""
    for path, root in parsed.trees.items():
        if path.endswith(".bpmn") and root.xpath(
            ".//bpmn:process[@id=$pid]/bpmn:extensionElements/spiffworkflow:properties"
            "/spiffworkflow:property[@name='startable'][@value='true']",
            namespaces=_NS, pid=process_id,
        ):
            return True
    return False


_NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
