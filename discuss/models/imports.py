"""Where imported rows came from: one row per thread, author and comment taken from another
service, keyed on that service's own id.

The unique key (site, source, kind, source id) makes importing idempotent: running the same
export again, or a later and larger one, adds only what is new. ``parent_source_id`` keeps a
reply's parent as the source named it, so parents that appear later in a file still attach.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from discuss.extensions import db
from discuss.models.types import UTCDateTime, utcnow


class ImportRef(db.Model):
    __tablename__ = "import_ref"
    __table_args__ = (
        UniqueConstraint("site_id", "source", "kind", "source_id", name="uq_import_ref_source"),
        Index("ix_import_ref_target", "kind", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(16))      # disqus | wordpress | isso | remark42 | commento
    kind: Mapped[str] = mapped_column(String(8))         # thread | author | comment
    source_id: Mapped[str] = mapped_column(String(255))
    target_id: Mapped[int] = mapped_column(Integer)
    parent_source_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
