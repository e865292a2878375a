"""Four-eyes deployment (四眼原则): a designer submits a validated library version, a second person
— a legal reviewer (法制审核人员) or an administrator — approves it, and only then does it become active.

Whether review is required is decided in review_policy.py. A submission stores the whole merged
library it would deploy, so the reviewer approves exactly what they saw in the diff. Approval
deploys it in the approving transaction (``store_and_activate``: validated again, since time-limit
keys may have changed since submission; ActiveProcess switches there; audited), and refuses:

- the submitter's own submission, whatever roles they hold (``procedure.four_eyes``);
- a stale submission: a newer deployment was made since the one it was based on, so approving it
  would silently undo that deployment (``procedure.stale_submission``); nothing is changed.

A rejection needs a reason. The submitter's drafts stay until approval, so a rejected change is
still there to fix; approval clears the drafts whose text it deployed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload, undefer

from engine import clock
from engine.db.command import command
from engine.deadlines.reference import bump_revision
from engine.definitions.bundle import Bundle, BundleFile
from engine.definitions.deploy import invalid, latest_deployment, store_and_activate, validate_bundle
from engine.definitions.versions import diff_against
from engine.errors import Conflict, DeploymentInvalid, Forbidden, InvalidInput, InvalidState, NotFound
from engine.models import Deployment, DeploymentSubmission, DeploymentSubmissionFile, Draft, Notification, Role, User, db
from engine.policy.actor import Actor
from engine.policy.permissions import DEPLOYMENT_REVIEWERS, require
from engine.record import audit

STATUSES = ("pending", "approved", "rejected", "withdrawn")
STATUS_LABELS = {"pending": "待审核", "approved": "已批准", "rejected": "已驳回", "withdrawn": "已撤回"}


@command
def submit_bundle(actor: Actor, bundle: Bundle, comment: str) -> DeploymentSubmission:
    """Validate ``bundle`` (the whole library as it would be deployed) and store it for review."""
    require(actor, "procedure.edit")
    person = _person(actor, "提交审核")
    comment = _required(comment, "comment", "提交审核须填写版本说明 (a submission needs a comment saying what changed)")
    _parsed, problems = validate_bundle(bundle)
    if problems:
        raise invalid(problems)
    latest = latest_deployment()
    if latest is not None and latest.bundle_hash == bundle.hash:
        raise InvalidState(f"提交的内容与现行版本 #{latest.id} 相同，无需审核 (nothing changed since deployment #{latest.id})")
    submission = DeploymentSubmission(status="pending", base_deployment_id=latest.id if latest else None,
                                      bundle_hash=bundle.hash, comment=comment, submitted_by=person.username,
                                      submitted_at=clock.now(), reason="")
    db.session.add(submission)
    for f in bundle.files:
        submission.files.append(DeploymentSubmissionFile(path=f.path, kind=f.kind, sha256=f.sha256, content=f.content.decode("utf-8")))
    db.session.flush()
    audit.record("deployment.submitted", person.username,
                 {"submission": submission.id, "base": submission.base_deployment_id, "bundle_hash": bundle.hash,
                  "comment": comment, "files": {f.path: f.sha256 for f in bundle.files}})
    _notify_reviewers(submission)
    return submission


@command
def approve(actor: Actor, submission_id: int, comment: str = "") -> Deployment:
    """Deploy and activate a pending submission: a second person, on a current base, validated again."""
    require(actor, "procedure.review")
    person = _person(actor, "批准部署")
    bump_revision()  # taken first: serialises approvals and deployments, so the stale check below holds
    submission = _pending(submission_id)
    if submission.submitted_by == person.username:
        raise Forbidden("不能批准本人提交的部署（四眼原则）：请由另一位法制审核人员或系统管理员批准 "
                        "(you cannot approve your own submission: another legal reviewer or administrator must)",
                        details={"rule": "procedure.four_eyes", "submission": submission.id})
    latest = latest_deployment()
    if (latest.id if latest else None) != submission.base_deployment_id:
        raise Conflict(
            f"提交 #{submission.id} 基于版本 #{submission.base_deployment_id or 0}，此后已部署版本 #{latest.id if latest else 0}："
            "批准会撤销该版本的改动，因此不能批准。请驳回，由设计人员在现行版本上重新提交 "
            f"(stale submission: deployment #{latest.id if latest else 0} was made after the version it is based on; "
            "reject it and submit again from the current version)",
            details={"rule": "procedure.stale_submission", "submission": submission.id,
                     "base": submission.base_deployment_id, "latest": latest.id if latest else None})
    comment = (comment or "").strip()
    files = {f.path: f.content for f in _files(submission)}  # read once: deployed, then compared with the drafts
    bundle = Bundle(tuple(BundleFile(path, text.encode("utf-8")) for path, text in files.items()))
    try:
        deployment = store_and_activate(
            bundle, person.username, submission.comment, author=submission.submitted_by,
            audit_data={"submission": submission.id, "submitted_by": submission.submitted_by, "approved_by": person.username})
    except DeploymentInvalid as exc:
        raise DeploymentInvalid(
            "批准时重新校验未通过（提交后时限或引用的文件可能已变化），未部署任何内容：请驳回并由设计人员修正后重新提交 "
            "(re-validation at approval failed; nothing was deployed): " + exc.message, details=exc.details) from None
    submission.status, submission.decided_by, submission.decided_at = "approved", person.username, clock.now()
    submission.reason, submission.deployment_id = comment, deployment.id
    cleared = _clear_deployed_drafts(files)
    audit.record("deployment.approved", person.username,
                 {"submission": submission.id, "deployment": deployment.id, "submitted_by": submission.submitted_by,
                  "comment": comment, "drafts_cleared": cleared})
    _notify_submitter(submission, f"您提交的流程部署 #{submission.id} 已由 {person.username} 批准，现为版本 #{deployment.id}")
    return deployment


@command
def reject(actor: Actor, submission_id: int, reason: str) -> DeploymentSubmission:
    require(actor, "procedure.review")
    person = _person(actor, "驳回部署")
    reason = _required(reason, "reason", "驳回须填写理由，以便设计人员修改 (a rejection needs a reason the designer can act on)")
    submission = _pending(submission_id)
    submission.status, submission.decided_by, submission.decided_at, submission.reason = "rejected", person.username, clock.now(), reason
    audit.record("deployment.rejected", person.username,
                 {"submission": submission.id, "submitted_by": submission.submitted_by, "reason": reason})
    _notify_submitter(submission, f"您提交的流程部署 #{submission.id} 被 {person.username} 驳回：{reason}")
    return submission


@command
def withdraw(actor: Actor, submission_id: int) -> DeploymentSubmission:
    """The submitter takes back a pending submission (e.g. to submit a corrected one)."""
    require(actor, "procedure.edit")
    person = _person(actor, "撤回提交")
    submission = _pending(submission_id)
    if submission.submitted_by != person.username:
        raise Forbidden("只能撤回本人的提交 (only the submitter withdraws a submission)", details={"rule": "procedure.withdraw_own"})
    submission.status, submission.decided_by, submission.decided_at = "withdrawn", person.username, clock.now()
    audit.record("deployment.withdrawn", person.username, {"submission": submission.id})
    return submission


# ---------------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------------
def submissions(status: str | None = None, submitted_by: str | None = None, limit: int = 100) -> list[DeploymentSubmission]:
    # Each row's file list is shown: read for all rows in one more statement, not one per row (contents stay deferred).
    query = select(DeploymentSubmission).options(selectinload(DeploymentSubmission.files)) \
        .order_by(DeploymentSubmission.id.desc()).limit(limit)
    if status:
        if status not in STATUSES:
            raise InvalidInput(f"status 须为 {'、'.join(STATUSES)} 之一 (unknown status)")
        query = query.where(DeploymentSubmission.status == status)
    if submitted_by:
        query = query.where(DeploymentSubmission.submitted_by == submitted_by)
    return list(db.session.scalars(query))


def get_submission(submission_id: int) -> DeploymentSubmission:
    submission = db.session.get(DeploymentSubmission, submission_id)
    if submission is None:
        raise NotFound(f"部署提交 #{submission_id} 不存在 (no such submission)")
    return submission


def submission_views(rows: list[DeploymentSubmission]) -> list[dict[str, Any]]:
    latest = latest_deployment()
    return [submission_view(s, latest.id if latest else None) for s in rows]


def submission_view(submission: DeploymentSubmission, latest_id: int | None | bool = False) -> dict[str, Any]:
    """Plain data for the page and the API; ``stale`` says a newer deployment was made since its base.
    ``latest_id``: the latest deployment's id when the caller has it (a list), else it is looked up."""
    if latest_id is False:
        latest = latest_deployment()
        latest_id = latest.id if latest else None
    return {"id": submission.id, "status": submission.status, "comment": submission.comment,
            "submitted_by": submission.submitted_by, "submitted_at": submission.submitted_at,
            "decided_by": submission.decided_by, "decided_at": submission.decided_at, "reason": submission.reason,
            "base_deployment": submission.base_deployment_id, "latest_deployment": latest_id,
            "stale": submission.status == "pending" and latest_id != submission.base_deployment_id,
            "deployment": submission.deployment_id, "bundle_hash": submission.bundle_hash,
            "files": [{"path": f.path, "kind": f.kind, "sha256": f.sha256} for f in submission.files]}


def submission_diff(submission: DeploymentSubmission) -> dict[str, Any]:
    """Per file, the submission against the current library (the latest deployment): added, removed,
    changed (elements, and a unified text diff of the source)."""
    latest = latest_deployment()
    diff = diff_against(latest.id if latest else None, _files(submission), f"提交#{submission.id}").to_dict()
    diff["to"] = f"提交 #{submission.id}"
    return diff


# ---------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------
def _person(actor: Actor, what: str) -> User:
    """Review is between two people: the platform's operator neither submits nor decides."""
    if not isinstance(actor, User):
        raise Forbidden(f"{what}须以本人账号进行 (review is done by named people, not by the platform)",
                        details={"rule": "procedure.four_eyes"})
    return actor


def _required(text: str | None, field: str, message: str) -> str:
    """A text the decision needs (a submission's comment, a rejection's reason), stripped; refused when blank."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput(message, details=[{"field": field, "message": "必填 (required)"}])
    return text


def _pending(submission_id: int) -> DeploymentSubmission:
    submission = db.session.scalars(select(DeploymentSubmission).where(DeploymentSubmission.id == submission_id)
                                    .with_for_update()).first()
    if submission is None:
        raise NotFound(f"部署提交 #{submission_id} 不存在 (no such submission)")
    if submission.status != "pending":
        raise InvalidState(f"部署提交 #{submission.id} {STATUS_LABELS.get(submission.status, submission.status)}，不能再审核 "
                           f"(already {submission.status})",
                           details={"status": submission.status})
    return submission


def _files(submission: DeploymentSubmission) -> list[DeploymentSubmissionFile]:
    return list(db.session.scalars(select(DeploymentSubmissionFile).where(DeploymentSubmissionFile.submission_id == submission.id)
                                   .options(undefer(DeploymentSubmissionFile.content)).order_by(DeploymentSubmissionFile.path)))


def _clear_deployed_drafts(deployed: dict[str, str]) -> list[str]:
    """Drafts whose text is now deployed (``deployed``: path → text); a draft edited after the submission stays a draft."""
    paths = [d.path for d in db.session.scalars(select(Draft)) if deployed.get(d.path) == d.content]
    if paths:
        db.session.execute(delete(Draft).where(Draft.path.in_(paths)))
    return paths


def _notify_reviewers(submission: DeploymentSubmission) -> None:
    reviewers = db.session.scalars(select(User.id).join(User.roles).where(
        Role.name.in_(DEPLOYMENT_REVIEWERS), User.active.is_(True), User.username != submission.submitted_by).distinct())
    message = f"{submission.submitted_by} 提交了流程部署 #{submission.id} 待审核：{submission.comment}"
    for user_id in reviewers:
        db.session.add(Notification(user_id=user_id, kind="deployment_review", message=message, created_at=clock.now()))


def _notify_submitter(submission: DeploymentSubmission, message: str) -> None:
    user_id = db.session.scalars(select(User.id).where(User.username == submission.submitted_by)).first()
    if user_id is not None:
        db.session.add(Notification(user_id=user_id, kind="deployment_review", message=message, created_at=clock.now()))
