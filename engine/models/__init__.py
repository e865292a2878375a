"""SQLAlchemy models; importing this package registers every table on ``db.metadata``."""

from engine.db.session import db
from engine.models.agency import Agency
from engine.models.audit import AuditEvent, AuditHead
from engine.models.case import Case, CaseOfficer, DocSequence, ProcessInstance, Task
from engine.models.clock_pause import ClockPause
from engine.models.comment import Comment
from engine.models.config import ConfigRevision
from engine.models.deployment import ActiveProcess, Deployment, DeploymentFile, ProcessSpec
from engine.models.document import Document, DocumentService, DocumentTemplate, DocumentType
from engine.models.draft import Draft
from engine.models.evidence import Evidence, UploadSession
from engine.models.form_number import FormNumber, FormNumberRange
from engine.models.notification import DeliverySettings, Notification, NotificationPreference
from engine.models.org import WHOLE_USER, ApiToken, Credential, OrgUnit, Role, User, user_role
from engine.models.publication import Publication
from engine.models.recusal import Recusal
from engine.models.review import DeploymentSubmission, DeploymentSubmissionFile, ReviewSettings
from engine.models.search import CaseParticipant, CaseSearch, CaseSearchPending
from engine.models.task_draft import TaskDraft
from engine.models.time_limit import CalendarDay, CalendarYear, TimeLimit

__all__ = [
    "WHOLE_USER",
    "ActiveProcess",
    "Agency",
    "ApiToken",
    "AuditEvent",
    "AuditHead",
    "CalendarDay",
    "CalendarYear",
    "Case",
    "CaseOfficer",
    "CaseParticipant",
    "CaseSearch",
    "CaseSearchPending",
    "Comment",
    "DeliverySettings",
    "ClockPause",
    "ConfigRevision",
    "Credential",
    "Deployment",
    "DeploymentFile",
    "DeploymentSubmission",
    "DeploymentSubmissionFile",
    "DocSequence",
    "Document",
    "DocumentService",
    "DocumentTemplate",
    "DocumentType",
    "Draft",
    "Evidence",
    "FormNumber",
    "FormNumberRange",
    "Notification",
    "NotificationPreference",
    "OrgUnit",
    "ProcessInstance",
    "ProcessSpec",
    "Publication",
    "Recusal",
    "ReviewSettings",
    "Role",
    "Task",
    "TaskDraft",
    "TimeLimit",
    "UploadSession",
    "User",
    "db",
    "user_role",
]
