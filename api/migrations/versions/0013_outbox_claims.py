"""when the outbox first took a message to send (to find it at the provider before sending it again)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 17:30:00
"""

import sqlalchemy as sa
from alembic import op

import api.models

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("claimed_at", api.models.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("claimed_at")
