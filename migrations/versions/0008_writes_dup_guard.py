"""writes: index comment (ip_hash, created_at) for the duplicate-comment guard on guest posts

A guest's post looks for the same text from the same IP hash and name in the last few minutes.
Without this index the lookup read every comment of the thread, so on a hot thread each post
cost more than the last.

Revision ID: 0008_writes_dup_guard
Revises: 0007_pgscale_indexes
Create Date: 2026-12-03 13:00:00

"""
from alembic import op


revision = "0008_writes_dup_guard"
down_revision = "0007_pgscale_indexes"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("comment", schema=None) as batch_op:
        batch_op.create_index("ix_comment_ip_created", ["ip_hash", "created_at"], unique=False)


def downgrade():
    with op.batch_alter_table("comment", schema=None) as batch_op:
        batch_op.drop_index("ix_comment_ip_created")
