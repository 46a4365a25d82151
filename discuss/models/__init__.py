from discuss.models.comment import Comment, ModerationEvent, NudgeWarning, Report, Vote
from discuss.models.reader import PendingRegistration, ReaderSession, SentNotification
from discuss.models.imports import ImportRef
from discuss.models.enums import AuthorKind, CommentStatus, RejectReason, ReportReason, Role
from discuss.models.site import Site, Thread
from discuss.models.totals import QueueTotal, StatsDay
from discuss.models.types import UTCDateTime, iso, utcnow
from discuss.models.user import Ban, StaffEvent, User
from discuss.models.webhook import Webhook, WebhookDelivery

__all__ = ["AuthorKind", "Ban", "Comment", "CommentStatus", "ImportRef", "ModerationEvent", "NudgeWarning", "PendingRegistration", "QueueTotal", "RejectReason",
           "ReaderSession", "Report", "ReportReason", "Role", "SentNotification", "Site", "StaffEvent", "StatsDay", "Thread",
           "UTCDateTime", "User", "Vote", "Webhook", "WebhookDelivery", "iso", "utcnow"]
