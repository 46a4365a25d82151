"""Column types shared by the models."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime | None) -> str | None:
    """The one timestamp format of the public API and exports: UTC, seconds, a Z suffix."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


class UTCDateTime(TypeDecorator):
    """Stores UTC; always hands back timezone-aware UTC datetimes.

    SQLite has no time zones and returns naive values, so without this the same model
    would give aware datetimes on PostgreSQL and naive ones on SQLite.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use discuss.models.types.utcnow()")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
