"""Cases (案件), the process instances that run them, and the task inbox projection."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db.session import UTCDateTime, db
from engine.models.org import OrgUnit, User


class Case(db.Model):
    __tablename__ = "case"
    __table_args__ = (
        Index("ix_case_unit_status", "unit_id", "status"),  # every officer's list is scoped by unit
        Index("ix_case_clock", "clock_state", "clock_deadline"),  # the sweep reads running clocks past due
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_number: Mapped[str] = mapped_column(String(60), unique=True)
    procedure: Mapped[str] = mapped_column(String(60))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    party_type: Mapped[str] = mapped_column(String(20))  # citizen | organization
    party_name: Mapped[str] = mapped_column(String(200))
    party_id_masked: Mapped[str] = mapped_column(String(40), default="")
    # 当事人 details the documents are served with (engine/runtime/party.py validates them). The ID
    # number is stored whole (documents need it); pages and the API show ``party_id_masked``.
    party_id_type: Mapped[str] = mapped_column(String(30), default="", server_default="")
    party_id_number: Mapped[str] = mapped_column(String(40), default="", server_default="")
    party_address: Mapped[str] = mapped_column(String(300), default="", server_default="")
    party_phone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    party_credit_code: Mapped[str] = mapped_column(String(18), default="", server_default="")
    party_legal_rep: Mapped[str] = mapped_column(String(100), default="", server_default="")
    party_contact: Mapped[str] = mapped_column(String(200), default="", server_default="")
    e_service_consent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    e_service_address: Mapped[str] = mapped_column(String(200), default="", server_default="")
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20))  # open | suspended | closed | terminated
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # Case clock (法 Art. 60): the deadline is always recomputed from recorded facts (filing date,
    # paused days, approved extensions), never shifted in place.
    clock_state: Mapped[str | None] = mapped_column(String(10))  # running | paused | overdue | stopped
    clock_started_on: Mapped[dt.date | None] = mapped_column(Date)
    # The limit in force when the clock started: a later change reaches this case only when re-applied.
    clock_amount: Mapped[int | None] = mapped_column(Integer)
    clock_unit: Mapped[str | None] = mapped_column(String(20))
    clock_deadline: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # 暂定: the deadline ran through a year whose holiday notice is not entered yet (weekends only);
    # entering that year recomputes it (engine/admin/time_limits.py).
    clock_provisional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), index=True)
    paused_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    paused_days: Mapped[int] = mapped_column(Integer, default=0)
    extension_days: Mapped[int] = mapped_column(Integer, default=0)
    extensions: Mapped[int] = mapped_column(Integer, default=0)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    unit: Mapped[OrgUnit] = relationship(lazy="joined")

    def party_details(self) -> dict[str, Any]:
        """The party as documents print it: every key present ("" when not recorded)."""
        return {key: getattr(self, key) for key in PARTY_FIELDS} | {"party_id_masked": self.party_id_masked}


# The party columns a registration or a later correction sets (in the order forms list them).
PARTY_FIELDS = ("party_type", "party_name", "party_id_type", "party_id_number", "party_address", "party_phone",
                "party_credit_code", "party_legal_rep", "party_contact", "e_service_consent", "e_service_address")


class ProcessInstance(db.Model):
    __tablename__ = "process_instance"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(120))
    process_spec_id: Mapped[int] = mapped_column(ForeignKey("process_spec.id"))
    status: Mapped[str] = mapped_column(String(20))  # running | suspended | completed | terminated
    state: Mapped[str] = mapped_column(Text)
    state_format: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    next_timer_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    # A waiting timer falls in a year without a holiday notice: re-armed when that year is entered.
    timers_provisional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), index=True)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    started_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ended_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    case: Mapped[Case] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}


class Task(db.Model):
    """The inbox projection: one row per manual task that became READY.

    Inboxes and deadline sweeps query only this table; workflows are deserialized only to act.
    """

    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_unit_role_status", "unit_id", "role", "status"),
        # Inboxes list 25 rows by deadline: these give them in index order, whatever the unit's size.
        Index("ix_task_unit_status_due", "unit_id", "status", "due_at", "created_at"),
        Index("ix_task_assignee_status_due", "assignee_id", "status", "due_at", "created_at"),
        Index("ix_task_status_due", "status", "due_at"),
        Index("ix_task_status_warn", "status", "warn_at"),
        Index("ix_task_status_completed", "status", "completed_at"),  # supervision: steps completed in a period
        # Separation of duty reads (case, bpmn id); every save reads its instance's rows by case too.
        Index("ix_task_case_bpmn", "case_id", "bpmn_id"),
        Index("ix_task_status_provisional", "status", "due_provisional"),  # recomputed when a year is entered
        # 可认领 checks separation of duty on the open steps that name one (reviews, approvals: few):
        # found without reading the unit's other open steps (engine/queries/inbox.py available_only).
        Index("ix_task_open_separated", "unit_id", postgresql_where=text("status = 'open' AND separate_from IS NOT NULL"),
              sqlite_where=text("status = 'open' AND separate_from IS NOT NULL")),
        # The pool steps whose offers are still to be made: a handful at any time, found at once.
        Index("ix_task_offer_pending", "id", postgresql_where=text("offer_pending"), sqlite_where=text("offer_pending = 1")),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task UUID
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    process_id: Mapped[str] = mapped_column(String(120))
    bpmn_id: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    form: Mapped[str | None] = mapped_column(String(120))
    requires_credential: Mapped[str | None] = mapped_column(String(40))
    separate_from: Mapped[str | None] = mapped_column(String(400))
    time_limit: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    warn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    deadline_state: Mapped[str] = mapped_column(String(10), default="normal")  # normal | near | overdue
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # 暂定
    # The legal start of the period (the ``counts_from`` field and its date; ``case_clock``: due with
    # the case clock), and an approved extension: what a recomputation counts from again.
    counts_from: Mapped[str | None] = mapped_column(String(80))
    counts_from_label: Mapped[str | None] = mapped_column(String(80))  # when the field has no form title
    starts_on: Mapped[dt.date | None] = mapped_column(Date)
    extended_by: Mapped[str | None] = mapped_column(String(80))
    # Why the process sent this step back (a gateway's ``returned_because``, naming the rule): shown
    # on the task, in the API and in the case timeline (engine/runtime/returns.py).
    returned_because: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12))  # open | completed | cancelled
    completed_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # A pool step whose "可认领的新任务" notifications are still to be written. Telling every officer
    # who may take it means reading the unit's officers, roles, credentials and the case's
    # designations, which would double the cost of a case start; the step is marked in its own
    # INSERT instead, and the next page view, the scheduler or the digest tells them
    # (engine/runtime/assignment.offer_pending_tasks).
    offer_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Someone parked a 暂存 draft on this step: its completion then deletes the drafts (and only
    # then: a completion without drafts sends no DELETE).
    has_draft: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    case: Mapped[Case] = relationship(lazy="joined")
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id], lazy="joined")


class DocSequence(db.Model):
    """Gap-free numbering per agency × type × year; the row is locked while a number is taken."""

    __tablename__ = "doc_sequence"
    agency: Mapped[str] = mapped_column(String(40), primary_key=True)
    doc_type: Mapped[str] = mapped_column(String(40), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_value: Mapped[int] = mapped_column(Integer, default=1)


class CaseOfficer(db.Model):
    """An officer designated for a case through a form's officers field (e.g. the ≥2 handlers of
    法 Art. 42); separation of duty (``separate_from="@assigned_handlers"``) reads these rows.

    A unit head's re-designation or a recusal ends a row (``ended_at``) instead of deleting it: the
    handler steps of the case go to the current designation only, while separation of duty still
    excludes everyone who was ever designated."""

    __tablename__ = "case_officer"
    __table_args__ = (UniqueConstraint("case_id", "field", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    field: Mapped[str] = mapped_column(String(80))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    task_id: Mapped[str] = mapped_column(String(36))
    designated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
