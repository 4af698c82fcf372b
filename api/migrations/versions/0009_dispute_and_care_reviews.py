"""dispute resolutions with their written answer, vulnerability reviews, contacts that carry a dispute's answer

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 11:05:00
"""

import sqlalchemy as sa
from alembic import op

import api.models

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("disputes") as batch:
        batch.add_column(sa.Column("resolved_at", api.models.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("resolved_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("explanation", sa.Text(), nullable=True))
        batch.add_column(sa.Column("balance_before_minor", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("corrected_balance_minor", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("closed_account", sa.Boolean(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("answer_confirmation_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("answered_at", api.models.UTCDateTime(timezone=True), nullable=True))
        batch.create_foreign_key("fk_disputes_answer_confirmation_id", "confirmations", ["answer_confirmation_id"], ["id"])
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("care_reviewed_at", api.models.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("care_reviewed_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("care_plan", sa.Text(), nullable=True))
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("dispute_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_contacts_dispute_id", "disputes", ["dispute_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.drop_constraint("fk_contacts_dispute_id", type_="foreignkey")
        batch.drop_column("dispute_id")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("care_plan")
        batch.drop_column("care_reviewed_by")
        batch.drop_column("care_reviewed_at")
    with op.batch_alter_table("disputes") as batch:
        batch.drop_constraint("fk_disputes_answer_confirmation_id", type_="foreignkey")
        for column in (
            "answered_at",
            "answer_confirmation_id",
            "closed_account",
            "corrected_balance_minor",
            "balance_before_minor",
            "explanation",
            "resolved_by",
            "resolved_at",
        ):
            batch.drop_column(column)
