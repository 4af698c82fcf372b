"""a console user's role: agent (works the queue) or manager (reads the dashboard, changes nothing)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 13:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Everyone signed in before this revision was an agent, and stays one.
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("role", sa.String(length=16), nullable=False, server_default="agent"))


def downgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("role")
