"""The data model; importing this package registers every table with the metadata."""

from portal.models.base import UTCDateTime, utcnow
from portal.models.device import Device
from portal.models.feed import FeedEntry, FeedKind
from portal.models.file import FileKind, JobFile
from portal.models.inbox import (
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
    JobEvent,
    JobStatusCount,
    ReportField,
    Status,
    StatusTransition,
)
from portal.models.push import Push, PushJob, PushState
from portal.models.user import LoginThrottle, Right, Role, TechnicianRight, User

__all__ = [
    "ActionType",
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
    "JobEvent",
    "JobFile",
    "JobStatusCount",
    "LoginThrottle",
    "MessageState",
    "Push",
    "PushJob",
    "PushState",
    "ReportField",
    "Right",
    "Role",
    "Status",
    "StatusTransition",
    "TechnicianRight",
    "User",
    "UTCDateTime",
    "utcnow",
]
