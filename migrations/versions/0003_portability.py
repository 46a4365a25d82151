"""portability: import_ref (idempotent imports keyed on the source's ids), comment.likes_base

Revision ID: 0003_portability
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = "0003_portability"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "import_ref",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("source_id", sa.String(length=255), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("parent_source_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("site_id", "source", "kind", "source_id", name="uq_import_ref_source"),
    )
    with op.batch_alter_table("import_ref", schema=None) as batch_op:
        batch_op.create_index("ix_import_ref_target", ["kind", "target_id"], unique=False)
    with op.batch_alter_table("comment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("likes_base", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    with op.batch_alter_table("comment", schema=None) as batch_op:
        batch_op.drop_column("likes_base")
    with op.batch_alter_table("import_ref", schema=None) as batch_op:
        batch_op.drop_index("ix_import_ref_target")
    op.drop_table("import_ref")
