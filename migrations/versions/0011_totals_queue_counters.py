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

from discuss.models.totals import BACKFILL, DROP, trigger_statements

revision = "0011_totals_queue_counters"
down_revision = "0010_i18n_language"
branch_labels = None
depends_on = None


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
    for statement in trigger_statements(dialect):
        op.execute(statement)
    op.execute(BACKFILL)
    op.create_index("ix_comment_pending_since", "comment", ["status_changed_at"],
                    sqlite_where=sa.text("status = 'PENDING'"), postgresql_where=sa.text("status = 'PENDING'"))


def downgrade():
    op.drop_index("ix_comment_pending_since", table_name="comment")
    for statement in DROP[op.get_bind().dialect.name]:
        op.execute(statement)
    op.drop_table("queue_total")
