"""SQLAlchemy models; importing this package registers every table on ``db.metadata``."""

from .audit import AuditEvent, AuditHead
from .case import Case, CaseOfficer, DocSequence, ProcessInstance, Task
from .clock_pause import ClockPause
from .config import ConfigRevision
from .db import db
from .deployment import ActiveProcess, Deployment, DeploymentFile, ProcessSpec
from .document import Document, DocumentType
from .draft import Draft
from .form_number import FormNumber, FormNumberRange
from .notification import Notification
from .org import WHOLE_USER, ApiToken, Credential, OrgUnit, Role, User, user_role
from .publication import Publication
from .recusal import Recusal
from .time_limit import CalendarDay, CalendarYear, TimeLimit

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
