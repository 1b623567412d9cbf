"""The data model; importing this package registers every table with the metadata."""

from portal.models.base import UTCDateTime, utcnow
from portal.models.device import Device
from portal.models.feed import FeedEntry, FeedKind, SyncPosition
from portal.models.file import FileKind, JobFile, PendingPhoto
from portal.models.inbox import (
    UNFINISHED_STATES,
    ActionType,
    ErrorCategory,
    InboxAttempt,
    InboxAudit,
    InboxLineMark,
    InboxMessage,
    MessageState,
)
from portal.models.job import (
    FieldType,
    Job,
    JobAssignment,
    JobEvent,
    JobStatusCount,
    ReportField,
    Status,
    StatusTransition,
)
from portal.models.push import Push, PushJob, PushState
from portal.models.setting import CompanySetting
from portal.models.user import LoginThrottle, Right, Role, TechnicianRight, User
from portal.models.user_audit import UserAudit

__all__ = [
    "UNFINISHED_STATES",
    "ActionType",
    "CompanySetting",
    "Device",
    "ErrorCategory",
    "FeedEntry",
    "FeedKind",
    "FieldType",
    "FileKind",
    "InboxAttempt",
    "InboxAudit",
    "InboxLineMark",
    "InboxMessage",
    "Job",
    "JobAssignment",
    "JobEvent",
    "JobFile",
    "JobStatusCount",
    "LoginThrottle",
    "MessageState",
    "PendingPhoto",
    "Push",
    "PushJob",
    "PushState",
    "ReportField",
    "Right",
    "Role",
    "Status",
    "SyncPosition",
    "StatusTransition",
    "TechnicianRight",
    "User",
    "UserAudit",
    "UTCDateTime",
    "utcnow",
]
