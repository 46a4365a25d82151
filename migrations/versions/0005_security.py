"""security: session versions, one vote per IP hash for tokenless votes, one report per reader,
bans that cover an IP hash

Revision ID: 0005_security
Revises: 0004_webhooks
"""
from alembic import op
import sqlalchemy as sa


revision = "0005_security"
down_revision = "0004_webhooks"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_version", sa.Integer(), nullable=False, server_default="0"))

    with op.batch_alter_table("vote", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ip_hash", sa.String(length=64), nullable=True))
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_unique_constraint("uq_vote_comment_ip", ["comment_id", "ip_hash"])

    # Existing duplicate reports (from before the constraint) would block it: keep the first.
    op.execute("DELETE FROM report WHERE user_id IS NOT NULL AND id NOT IN "
               "(SELECT MIN(id) FROM report WHERE user_id IS NOT NULL GROUP BY comment_id, user_id)")
    op.execute("DELETE FROM report WHERE user_id IS NULL AND ip_hash IS NOT NULL AND id NOT IN "
               "(SELECT MIN(id) FROM report WHERE user_id IS NULL AND ip_hash IS NOT NULL "
               "GROUP BY comment_id, ip_hash)")
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_report_comment_user", ["comment_id", "user_id"])
    op.create_index("uq_report_comment_ip_anonymous", "report", ["comment_id", "ip_hash"], unique=True,
                    sqlite_where=sa.text("user_id IS NULL"), postgresql_where=sa.text("user_id IS NULL"))

    with op.batch_alter_table("ban", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ip_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("ip_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_ban_ip_hash", ["ip_hash"], unique=False)


def downgrade():
    with op.batch_alter_table("ban", schema=None) as batch_op:
        batch_op.drop_index("ix_ban_ip_hash")
        batch_op.drop_column("ip_until")
        batch_op.drop_column("ip_hash")
    op.drop_index("uq_report_comment_ip_anonymous", table_name="report")
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_constraint("uq_report_comment_user", type_="unique")
    op.execute("DELETE FROM vote WHERE user_id IS NULL")
    with op.batch_alter_table("vote", schema=None) as batch_op:
        batch_op.drop_constraint("uq_vote_comment_ip", type_="unique")
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("ip_hash")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("session_version")
