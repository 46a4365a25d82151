"""stats days: a site's closed days of queue health, computed once and kept (stats_day; issue 19: the
stats page read every audit row of its window, 926 ms for 30 days at a million comments)

Revision ID: 0012_stats_days
Revises: 0011_totals_queue_counters
Create Date: 2026-12-03 19:00:00

Empty at first: the stats page fills in each day the first time it needs it.
"""
from alembic import op
import sqlalchemy as sa

revision = "0012_stats_days"
down_revision = "0011_totals_queue_counters"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "stats_day",
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("site.id", ondelete="CASCADE"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("site_id", "day"),
    )


def downgrade():
    op.drop_table("stats_day")
