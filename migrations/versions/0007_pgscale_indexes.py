"""scale indexes (bench/scale.py at a million comments): a thread page's roots and newest id, date ranges, the reported queue, calibration,
the toxicity sort, trigram search (PostgreSQL), and the audit log's newest-first page

Revision ID: 0007_pgscale_indexes
Revises: 0006_moderation_intelligence
Create Date: 2026-12-03 12:50:00

"""
from alembic import op

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


# (name, table, columns or expression SQL, partial-index condition per dialect)
def _indexes(postgresql: bool) -> list[tuple[str, str, str, str | None]]:
    return [
        ("ix_comment_thread_status_id", "comment", "thread_id, status, id", None),
        ("ix_comment_thread_roots", "comment", "thread_id, is_featured DESC, id", "parent_id IS NULL"),
        ("ix_comment_created", "comment", "created_at", None),
        ("ix_comment_reported", "comment", "status, report_count DESC, created_at, id", "report_count > 0"),
        ("ix_comment_decided_created", "comment", "created_at",
         "moderator_decided" if postgresql else "moderator_decided = 1"),
        ("ix_comment_status_toxicity", "comment", f"status, ({_max_label_score(postgresql)}) DESC, created_at, id",
         None),
        ("ix_event_created", "moderation_event", "created_at, id", None),
    ]


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    if not postgresql:
        for name, table, columns, where in _indexes(False):
            op.execute(f"CREATE INDEX {name} ON {table} ({columns})" + (f" WHERE {where}" if where else ""))
        return
    # CONCURRENTLY: building these on a million comments takes minutes (the trigram ones most), and a
    # plain CREATE INDEX would block every new comment meanwhile. It cannot run in a transaction.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")  # trusted since PostgreSQL 13: the owner may
    with op.get_context().autocommit_block():
        for name, table, columns, where in _indexes(True):
            op.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} ({columns})"
                       + (f" WHERE {where}" if where else ""))
        for name, column in TRIGRAM_INDEXES:
            op.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON comment "
                       f"USING gin (lower({column}) gin_trgm_ops)")


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    names = [name for name, *_ in _indexes(postgresql)] + ([n for n, _ in TRIGRAM_INDEXES] if postgresql else [])
    if not postgresql:
        for name in names:
            op.execute(f"DROP INDEX {name}")
        return
    with op.get_context().autocommit_block():
        for name in names:
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
