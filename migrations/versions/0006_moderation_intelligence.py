"""moderation intelligence: nudge warnings (the nudge funnel), undo links on audit events, staff last seen

(The user's session_version comes from 0005_security.)

Revision ID: 0006_moderation_intelligence
Revises: 0005_security
Create Date: 2026-12-03 09:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0006_moderation_intelligence"
down_revision = "0005_security"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "nudge_warning",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.String(length=512), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("ip_hash", sa.String(length=64), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["user.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("nudge_warning", schema=None) as batch_op:
        batch_op.create_index("ix_nudge_site_created", ["site_id", "created_at"], unique=False)

    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("moderation_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("undo_of_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_event_undo_of", "moderation_event", ["undo_of_id"], ["id"],
                                    ondelete="SET NULL")
        batch_op.create_unique_constraint("uq_event_undo_of", ["undo_of_id"])


def downgrade():
    with op.batch_alter_table("moderation_event", schema=None) as batch_op:
        batch_op.drop_constraint("uq_event_undo_of", type_="unique")
        batch_op.drop_constraint("fk_event_undo_of", type_="foreignkey")
        batch_op.drop_column("undo_of_id")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("last_seen_at")
    with op.batch_alter_table("nudge_warning", schema=None) as batch_op:
        batch_op.drop_index("ix_nudge_site_created")
    op.drop_table("nudge_warning")
