"""Enumerations stored in the database (as strings, so both SQLite and PostgreSQL agree)."""
import enum


class CommentStatus(str, enum.Enum):
    PUBLISHED = "published"
    PENDING = "pending"
    REJECTED = "rejected"
    DELETED = "deleted"


class Role(str, enum.Enum):
    READER = "reader"
    MODERATOR = "moderator"
    ADMIN = "admin"


class AuthorKind(str, enum.Enum):
    GUEST = "guest"
    ACCOUNT = "account"
    SSO = "sso"


class ReportReason(str, enum.Enum):
    SPAM = "spam"
    ABUSE = "abuse"
    OFFENSIVE = "offensive"
    OFF_TOPIC = "off_topic"
    OTHER = "other"


class RejectReason(str, enum.Enum):
    SPAM = "spam"
    ABUSE = "abuse"
    HARASSMENT = "harassment"
    HATE = "hate"
    OFF_TOPIC = "off_topic"
    OTHER = "other"
