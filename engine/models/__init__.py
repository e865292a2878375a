"""SQLAlchemy models; importing this package registers every table on ``db.metadata``."""

from engine.db.session import db
from engine.models.audit import AuditEvent, AuditHead
from engine.models.case import Case, CaseOfficer, DocSequence, ProcessInstance, Task
from engine.models.clock_pause import ClockPause
from engine.models.config import ConfigRevision
from engine.models.deployment import ActiveProcess, Deployment, DeploymentFile, ProcessSpec
from engine.models.document import Document, DocumentType
from engine.models.draft import Draft
from engine.models.form_number import FormNumber, FormNumberRange
from engine.models.notification import Notification
from engine.models.org import WHOLE_USER, ApiToken, Credential, OrgUnit, Role, User, user_role
from engine.models.publication import Publication
from engine.models.recusal import Recusal
from engine.models.time_limit import CalendarDay, CalendarYear, TimeLimit

__all__ = [
    "WHOLE_USER",
    "ActiveProcess",
    "ApiToken",
    "AuditEvent",
    "AuditHead",
    "CalendarDay",
    "CalendarYear",
    "Case",
    "CaseOfficer",
    "ClockPause",
    "ConfigRevision",
    "Credential",
    "Deployment",
    "DeploymentFile",
    "DocSequence",
    "Document",
    "DocumentType",
    "Draft",
    "FormNumber",
    "FormNumberRange",
    "Notification",
    "OrgUnit",
    "ProcessInstance",
    "ProcessSpec",
    "Publication",
    "Recusal",
    "Role",
    "Task",
    "TimeLimit",
    "User",
    "db",
    "user_role",
]
