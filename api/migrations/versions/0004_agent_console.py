"""agent console: agents, sessions, notes, handoff claims, hours

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 19:41:41.965021
"""

from alembic import op
import sqlalchemy as sa
import api.models


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", api.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", api.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "agent_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", api.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", api.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", api.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
        ),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("agent_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_sessions_agent_id"), ["agent_id"], unique=False)

    op.create_table(
        "agent_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", api.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("agent_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_notes_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_agent_notes_conversation_id"), ["conversation_id"], unique=False)

    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recorded_by", sa.String(length=64), nullable=False, server_default="bot"))
        batch_op.add_column(sa.Column("outside_policy_reason", sa.String(length=500), nullable=True))

    with op.batch_alter_table("confirmations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sent_at", api.models.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table("creditors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agent_hours", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("expected_wait_minutes", sa.Integer(), nullable=False, server_default="15"))
        batch_op.add_column(sa.Column("review_disputes", sa.Boolean(), nullable=False, server_default=sa.true()))

    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by_agent_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", api.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("closed_at", api.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f("ix_handoffs_status"), ["status"], unique=False)
        batch_op.create_foreign_key("fk_handoffs_claimed_by_agent_id", "agents", ["claimed_by_agent_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.drop_constraint("fk_handoffs_claimed_by_agent_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_handoffs_status"))
        batch_op.drop_column("outcome")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("claimed_by_agent_id")

    with op.batch_alter_table("creditors", schema=None) as batch_op:
        batch_op.drop_column("review_disputes")
        batch_op.drop_column("expected_wait_minutes")
        batch_op.drop_column("agent_hours")

    with op.batch_alter_table("confirmations", schema=None) as batch_op:
        batch_op.drop_column("sent_at")

    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.drop_column("outside_policy_reason")
        batch_op.drop_column("recorded_by")

    with op.batch_alter_table("agent_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_notes_conversation_id"))
        batch_op.drop_index(batch_op.f("ix_agent_notes_account_id"))

    op.drop_table("agent_notes")
    with op.batch_alter_table("agent_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_sessions_agent_id"))

    op.drop_table("agent_sessions")
    op.drop_table("agents")
