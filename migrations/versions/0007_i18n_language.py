"""i18n: a user's language (staff: the dashboard's and their emails' language; readers: their emails')

Revision ID: 0007_i18n_language
Revises: 0006_moderation_intelligence
Create Date: 2026-12-03 12:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0007_i18n_language"
down_revision = "0006_moderation_intelligence"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("language")
