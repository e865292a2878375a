"""Four-eyes deployment: a designer's submitted library waiting for a second person's approval.

A submission keeps the whole merged library it would deploy (not a diff), so approval deploys
exactly what the reviewer saw; nothing is parsed into ``process_spec`` until it is approved.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db.session import UTCDateTime, db


class DeploymentSubmission(db.Model):
    """One submitted library version: pending until approved (then ``deployment_id``) or rejected."""

    __tablename__ = "deployment_submission"
    __table_args__ = (Index("ix_deployment_submission_status", "status", "submitted_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | approved | rejected | withdrawn
    # The latest deployment when submitted: a newer one activated since makes the submission stale.
    base_deployment_id: Mapped[int | None] = mapped_column(Integer)
    bundle_hash: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str] = mapped_column(Text, default="")
    submitted_by: Mapped[str] = mapped_column(String(80))
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")
    deployment_id: Mapped[int | None] = mapped_column(ForeignKey("deployment.id"))

    files: Mapped[list[DeploymentSubmissionFile]] = relationship(
        back_populates="submission", order_by="DeploymentSubmissionFile.path", cascade="all, delete-orphan")


class DeploymentSubmissionFile(db.Model):
    __tablename__ = "deployment_submission_file"
    __table_args__ = (UniqueConstraint("submission_id", "path"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("deployment_submission.id"), index=True)
    path: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(10))  # bpmn | dmn | form
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text, deferred=True)

    submission: Mapped[DeploymentSubmission] = relationship(back_populates="files")


class ReviewSettings(db.Model):
    """One row (id 1): whether deployments need a second person. ``required`` NULL = the environment's default."""

    __tablename__ = "review_settings"
    id: Mapped[int] = mapped_column(primary_key=True)
    required: Mapped[bool | None] = mapped_column(Boolean)
    updated_by: Mapped[str] = mapped_column(String(80), default="")
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
