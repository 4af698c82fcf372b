"""A/B tests: the creditors' experiments and the arm each account is in

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 12:00:00
"""

import sqlalchemy as sa
from alembic import op

import api.models

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("creditor_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("arms", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("outcome_days", sa.Integer(), nullable=True),
        sa.Column("baseline_rate", sa.Float(), nullable=False),
        sa.Column("minimum_detectable_effect", sa.Float(), nullable=False),
        sa.Column("min_sample_per_arm", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", api.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", api.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("stopped_at", api.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["creditor_id"], ["creditors.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_experiments_creditor_id", "experiments", ["creditor_id"])
    op.create_table(
        "experiment_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("arm", sa.String(length=32), nullable=False),
        sa.Column("assigned_at", api.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["experiment_id"], ["experiments.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("experiment_id", "account_id"),
    )
    op.create_index("ix_experiment_assignments_experiment_id", "experiment_assignments", ["experiment_id"])
    op.create_index("ix_experiment_assignments_account_id", "experiment_assignments", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_experiment_assignments_account_id", table_name="experiment_assignments")
    op.drop_index("ix_experiment_assignments_experiment_id", table_name="experiment_assignments")
    op.drop_table("experiment_assignments")
    op.drop_index("ix_experiments_creditor_id", table_name="experiments")
    op.drop_table("experiments")
