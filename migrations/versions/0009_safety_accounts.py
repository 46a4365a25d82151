"""staff audit (who created, invited, re-roled, deactivated or reactivated staff; issue 18) and
pending registrations (an account is created only from the emailed link; issue 15)

Revision ID: 0009_safety_accounts
Revises: 0008_writes_dup_guard
Create Date: 2026-12-03 12:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0009_safety_accounts"
down_revision = "0008_writes_dup_guard"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "staff_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=64), nullable=False),
        sa.Column("target_user_id", sa.Integer(), nullable=True),
        sa.Column("target_email", sa.String(length=254), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["user.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["target_user_id"], ["user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("staff_event", schema=None) as batch_op:
        batch_op.create_index("ix_staff_event_target_user_id", ["target_user_id"], unique=False)
        batch_op.create_index("ix_staff_event_created_at", ["created_at"], unique=False)

    op.create_table(
        "pending_registration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("pending_registration", schema=None) as batch_op:
        batch_op.create_index("ix_pending_registration_email", ["email"], unique=False)


def downgrade():
    with op.batch_alter_table("pending_registration", schema=None) as batch_op:
        batch_op.drop_index("ix_pending_registration_email")
    op.drop_table("pending_registration")
    with op.batch_alter_table("staff_event", schema=None) as batch_op:
        batch_op.drop_index("ix_staff_event_created_at")
        batch_op.drop_index("ix_staff_event_target_user_id")
    op.drop_table("staff_event")
