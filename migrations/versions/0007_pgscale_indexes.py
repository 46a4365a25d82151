"""scale indexes (bench/scale.py at a million comments): date ranges, the reported queue, calibration,
the toxicity sort, trigram search (PostgreSQL), and the audit log's newest-first page

Revision ID: 0007_pgscale_indexes
Revises: 0006_moderation_intelligence
Create Date: 2026-12-03 12:50:00

"""
from alembic import op
import sqlalchemy as sa

revision = "0007_pgscale_indexes"
down_revision = "0006_moderation_intelligence"
branch_labels = None
depends_on = None

TRIGRAM_INDEXES = (("ix_comment_body_trgm", "body_text"), ("ix_comment_author_name_trgm", "author_name"))
# Frozen copy of discuss.models.comment.max_label_score as of this revision: the index expression must
# be exactly the one the queue sorts by, and a migration must not change when the app code does.
LABELS = ("toxicity", "severe_toxicity", "obscene", "identity_attack", "insult", "threat", "sexual_explicit")


def _max_label_score(postgresql: bool) -> str:
    if postgresql:
        return "GREATEST({})".format(", ".join(
            f"COALESCE(CAST((scores ->> '{label}') AS DOUBLE PRECISION), 0.0)" for label in LABELS))
    return "MAX({})".format(", ".join(
        f"COALESCE(CAST(JSON_EXTRACT(scores, '$.\"{label}\"') AS REAL), 0.0)" for label in LABELS))


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_index("ix_comment_created", "comment", ["created_at"])
    op.create_index("ix_comment_reported", "comment", ["report_count", "created_at"],
                    sqlite_where=sa.text("report_count > 0"), postgresql_where=sa.text("report_count > 0"))
    op.create_index("ix_comment_decided_created", "comment", ["created_at"],
                    sqlite_where=sa.text("moderator_decided = 1"), postgresql_where=sa.text("moderator_decided"))
    op.execute(f"CREATE INDEX ix_comment_status_toxicity ON comment "
               f"(status, ({_max_label_score(postgresql)}) DESC, created_at, id)")
    op.create_index("ix_event_created", "moderation_event", ["created_at", "id"])
    if postgresql:
        # Trusted extension since PostgreSQL 13: the database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, column in TRIGRAM_INDEXES:
            op.execute(f"CREATE INDEX {name} ON comment USING gin (lower({column}) gin_trgm_ops)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name, _ in TRIGRAM_INDEXES:
            op.drop_index(name, table_name="comment")
    op.drop_index("ix_event_created", table_name="moderation_event")
    for name in ("ix_comment_status_toxicity", "ix_comment_decided_created", "ix_comment_reported",
                 "ix_comment_created"):
        op.drop_index(name, table_name="comment")
