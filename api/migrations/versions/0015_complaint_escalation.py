"""where a debtor may complain beyond the collector, per creditor and language

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 07:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("creditors") as batch:
        batch.add_column(sa.Column("complaint_escalation", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("creditors") as batch:
        batch.drop_column("complaint_escalation")
