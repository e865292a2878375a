"""Immutable deployments of the process library and their parsed specs."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db.session import UTCDateTime, db


class Deployment(db.Model):
    """A content-hashed snapshot of processes/ and forms/; never updated after insert."""

    __tablename__ = "deployment"
    id: Mapped[int] = mapped_column(primary_key=True)
    bundle_hash: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(80))
    comment: Mapped[str] = mapped_column(Text, default="")

    files: Mapped[list[DeploymentFile]] = relationship(back_populates="deployment", order_by="DeploymentFile.path")


class DeploymentFile(db.Model):
    __tablename__ = "deployment_file"
    __table_args__ = (UniqueConstraint("deployment_id", "path"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id"), index=True)
    path: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(10))  # bpmn | dmn | form
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text, deferred=True)

    deployment: Mapped[Deployment] = relationship(back_populates="files")


class ProcessSpec(db.Model):
    """One executable process of a deployment, serialized once (spec + call-activity specs).

    Instance state never embeds the spec (about 70 % of SpiffWorkflow's JSON); it refers here.
    """

    __tablename__ = "process_spec"
    __table_args__ = (UniqueConstraint("deployment_id", "process_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(120), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    # Large; read only when a deployment's specs are first loaded into the process-wide cache.
    spec_json: Mapped[str] = mapped_column(Text, deferred=True)
    spec_hash: Mapped[str] = mapped_column(String(64))
    # False for processes only reached as a call activity (e.g. legal_review): no case starts there.
    startable: Mapped[bool] = mapped_column(Boolean, default=True)

    deployment: Mapped[Deployment] = relationship()


class ActiveProcess(db.Model):
    """Which deployment's spec new cases of a process start on."""

    __tablename__ = "active_process"
    process_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    process_spec_id: Mapped[int] = mapped_column(ForeignKey("process_spec.id"))
    activated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    activated_by: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer, default=1)

    spec: Mapped[ProcessSpec] = relationship(lazy="joined")
