"""debtors' budgets (income and expenditure) and the share of what is left suggested as the instalment

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 09:00:00
"""

import sqlalchemy as sa
from alembic import op

import api.models

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "budgets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("income_minor", sa.Integer(), nullable=False),
        sa.Column("housing_minor", sa.Integer(), nullable=False),
        sa.Column("bills_minor", sa.Integer(), nullable=False),
        sa.Column("food_minor", sa.Integer(), nullable=False),
        sa.Column("transport_minor", sa.Integer(), nullable=False),
        sa.Column("other_costs_minor", sa.Integer(), nullable=False),
        sa.Column("other_debts_minor", sa.Integer(), nullable=False),
        sa.Column("adults", sa.Integer(), nullable=True),
        sa.Column("children", sa.Integer(), nullable=True),
        sa.Column("disposable_minor", sa.Integer(), nullable=False),
        sa.Column("affordable_minor", sa.Integer(), nullable=False),
        sa.Column("share_pct", sa.Integer(), nullable=False),
        sa.Column("created_at", api.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_budgets_account_id", "budgets", ["account_id"])
    op.create_index("ix_budgets_conversation_id", "budgets", ["conversation_id"])
    with op.batch_alter_table("negotiation_policies") as batch:
        batch.add_column(sa.Column("affordable_share_pct", sa.Integer(), nullable=False, server_default="50"))


def downgrade() -> None:
    with op.batch_alter_table("negotiation_policies") as batch:
        batch.drop_column("affordable_share_pct")
    op.drop_index("ix_budgets_conversation_id", table_name="budgets")
    op.drop_index("ix_budgets_account_id", table_name="budgets")
    op.drop_table("budgets")
