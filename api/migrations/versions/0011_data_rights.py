"""data subject requests, restriction and erasure marks, retention per creditor

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 11:40:00
"""

import sqlalchemy as sa
from alembic import op

import api.models

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", api.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deadline", api.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", api.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.JSON(), nullable=False),
        sa.Column("export_json", sa.LargeBinary(), nullable=True),
        sa.Column("export_pdf", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_data_requests_account_id", "data_requests", ["account_id"])
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("restricted", sa.Boolean(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("erased_at", api.models.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("creditors") as batch:
        batch.add_column(sa.Column("retention_months", sa.Integer(), nullable=False, server_default="36"))


def downgrade() -> None:
    with op.batch_alter_table("creditors") as batch:
        batch.drop_column("retention_months")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("erased_at")
        batch.drop_column("restricted")
    op.drop_table("data_requests")
