"""totals: stored queue sizes per site and status (queue_total), kept by triggers on comment, with a
backfill from the comments (issue 19: queue tab counts and one site's pending total at 1M comments),
and ix_comment_pending_since (the stats page's oldest pending comment)

Revision ID: 0011_totals_queue_counters
Revises: 0010_i18n_language
Create Date: 2026-12-03 15:40:00

On PostgreSQL the comment table is locked against writes (SHARE) while the triggers are created and
the counts backfilled, so no comment changes between the two: a few seconds at a million comments.
"""
from alembic import op
import sqlalchemy as sa


revision = "0011_totals_queue_counters"
down_revision = "0010_i18n_language"
branch_labels = None
depends_on = None

# The trigger SQL as this revision creates it, copied from discuss/models/totals.py (not imported), so
# a later change there gets a migration of its own instead of rewriting this one.
TRIGGERS = {
    'postgresql': [
        'CREATE FUNCTION queue_total_inserted() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    INSERT INTO queue_total (site_id, status, shard, n) SELECT thread.site_id, c.status, c.thread_id % 16, count(*) FROM new_rows AS c JOIN thread ON thread.id = c.thread_id GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 ON CONFLICT (site_id, status, shard) DO UPDATE SET n = queue_total.n + excluded.n;\n    RETURN NULL;\nEND $$',
        'CREATE FUNCTION queue_total_deleted() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    INSERT INTO queue_total (site_id, status, shard, n) SELECT thread.site_id, c.status, c.thread_id % 16, -count(*) FROM old_rows AS c JOIN thread ON thread.id = c.thread_id GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 ON CONFLICT (site_id, status, shard) DO UPDATE SET n = queue_total.n + excluded.n;\n    RETURN NULL;\nEND $$',
        'CREATE FUNCTION queue_total_changed() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    IF (OLD.status, OLD.thread_id % 16) <= (NEW.status, NEW.thread_id % 16) THEN\n        INSERT INTO queue_total (site_id, status, shard, n) SELECT thread.site_id, OLD.status, OLD.thread_id % 16, -1 FROM thread WHERE thread.id = OLD.thread_id ON CONFLICT (site_id, status, shard) DO UPDATE SET n = queue_total.n + excluded.n;\n        INSERT INTO queue_total (site_id, status, shard, n) SELECT thread.site_id, NEW.status, NEW.thread_id % 16, +1 FROM thread WHERE thread.id = NEW.thread_id ON CONFLICT (site_id, status, shard) DO UPDATE SET n = queue_total.n + excluded.n;\n    ELSE\n        INSERT INTO queue_total (site_id, status, shard, n) SELECT thread.site_id, NEW.status, NEW.thread_id % 16, +1 FROM thread WHERE thread.id = NEW.thread_id ON CONFLICT (site_id, status, shard) DO UPDATE SET n = queue_total.n + excluded.n;\n        INSERT INTO queue_total (site_id, status, shard, n) SELECT thread.site_id, OLD.status, OLD.thread_id % 16, -1 FROM thread WHERE thread.id = OLD.thread_id ON CONFLICT (site_id, status, shard) DO UPDATE SET n = queue_total.n + excluded.n;\n    END IF;\n    RETURN NULL;\nEND $$',
        'CREATE TRIGGER queue_total_insert AFTER INSERT ON comment REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION queue_total_inserted()',
        'CREATE TRIGGER queue_total_update AFTER UPDATE OF status, thread_id ON comment FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.thread_id IS DISTINCT FROM NEW.thread_id) EXECUTE FUNCTION queue_total_changed()',
        'CREATE TRIGGER queue_total_delete AFTER DELETE ON comment REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION queue_total_deleted()',
    ],
    'sqlite': [
        'CREATE TRIGGER queue_total_insert AFTER INSERT ON comment BEGIN INSERT INTO queue_total (site_id, status, shard, n) SELECT thread.site_id, NEW.status, NEW.thread_id % 16, +1 FROM thread WHERE thread.id = NEW.thread_id ON CONFLICT (site_id, status, shard) DO UPDATE SET n = queue_total.n + excluded.n; END',
        'CREATE TRIGGER queue_total_update AFTER UPDATE OF status, thread_id ON comment WHEN OLD.status IS NOT NEW.status OR OLD.thread_id IS NOT NEW.thread_id BEGIN INSERT INTO queue_total (site_id, status, shard, n) SELECT thread.site_id, OLD.status, OLD.thread_id % 16, -1 FROM thread WHERE thread.id = OLD.thread_id ON CONFLICT (site_id, status, shard) DO UPDATE SET n = queue_total.n + excluded.n; INSERT INTO queue_total (site_id, status, shard, n) SELECT thread.site_id, NEW.status, NEW.thread_id % 16, +1 FROM thread WHERE thread.id = NEW.thread_id ON CONFLICT (site_id, status, shard) DO UPDATE SET n = queue_total.n + excluded.n; END',
        'CREATE TRIGGER queue_total_delete AFTER DELETE ON comment BEGIN INSERT INTO queue_total (site_id, status, shard, n) SELECT thread.site_id, OLD.status, OLD.thread_id % 16, -1 FROM thread WHERE thread.id = OLD.thread_id ON CONFLICT (site_id, status, shard) DO UPDATE SET n = queue_total.n + excluded.n; END',
    ],
}
DROP = {
    'postgresql': [
        'DROP TRIGGER IF EXISTS queue_total_insert ON comment',
        'DROP TRIGGER IF EXISTS queue_total_update ON comment',
        'DROP TRIGGER IF EXISTS queue_total_delete ON comment',
        'DROP FUNCTION IF EXISTS queue_total_inserted()',
        'DROP FUNCTION IF EXISTS queue_total_deleted()',
        'DROP FUNCTION IF EXISTS queue_total_changed()',
    ],
    'sqlite': [
        'DROP TRIGGER IF EXISTS queue_total_insert',
        'DROP TRIGGER IF EXISTS queue_total_update',
        'DROP TRIGGER IF EXISTS queue_total_delete',
    ],
}
BACKFILL = 'INSERT INTO queue_total (site_id, status, shard, n) SELECT thread.site_id, comment.status, comment.thread_id % 16, count(*) FROM comment JOIN thread ON thread.id = comment.thread_id GROUP BY thread.site_id, comment.status, comment.thread_id % 16'


def upgrade():
    op.create_table(
        "queue_total",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("site_id", "status", "shard"),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("LOCK TABLE comment IN SHARE MODE")
    for statement in TRIGGERS[dialect]:
        op.execute(statement)
    op.execute(BACKFILL)
    op.create_index("ix_comment_pending_since", "comment", ["status_changed_at"],
                    sqlite_where=sa.text("status = 'PENDING'"), postgresql_where=sa.text("status = 'PENDING'"))


def downgrade():
    op.drop_index("ix_comment_pending_since", table_name="comment")
    for statement in DROP[op.get_bind().dialect.name]:
        op.execute(statement)
    op.drop_table("queue_total")
