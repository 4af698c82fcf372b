"""contacts we initiate, their gate decisions, the follow-through settings and the missed-payment bookkeeping

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:50:00
"""

import sqlalchemy as sa
from alembic import op

import api.models

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("commitment_id", sa.Integer(), nullable=True),
        sa.Column("instalment_id", sa.Integer(), nullable=True),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("planned_for", api.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("scheduled_for", api.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("conversation_id", sa.String(length=32), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", api.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", api.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["commitment_id"], ["commitments.id"]),
        sa.ForeignKeyConstraint(["instalment_id"], ["instalments.id"]),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"]),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_contacts_account_id", "contacts", ["account_id"])
    op.create_index("ix_contacts_commitment_id", "contacts", ["commitment_id"])
    op.create_index("ix_contacts_instalment_id", "contacts", ["instalment_id"])
    op.create_index("ix_contacts_scheduled_for", "contacts", ["scheduled_for"])
    op.create_index("ix_contacts_status", "contacts", ["status"])
    op.create_index("ix_contacts_sent_at", "contacts", ["sent_at"])
    op.create_table(
        "contact_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("decided_at", api.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("until", api.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_contact_decisions_contact_id", "contact_decisions", ["contact_id"])
    with op.batch_alter_table("creditors") as batch:
        batch.add_column(sa.Column("follow_through", sa.JSON(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("payment_webhook_secret", sa.String(length=64), nullable=True))
    with op.batch_alter_table("commitments") as batch:
        batch.add_column(sa.Column("consecutive_misses", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("ended_at", api.models.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("payment_claims") as batch:
        batch.add_column(sa.Column("escalated_at", api.models.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("payment_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_payment_claims_payment_id", "payments", ["payment_id"], ["id"])
    with op.batch_alter_table("instalments") as batch:
        batch.add_column(sa.Column("original_due_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("missed_at", api.models.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payment_claims") as batch:
        batch.drop_constraint("fk_payment_claims_payment_id", type_="foreignkey")
        batch.drop_column("payment_id")
        batch.drop_column("escalated_at")
    with op.batch_alter_table("instalments") as batch:
        batch.drop_column("missed_at")
        batch.drop_column("original_due_date")
    with op.batch_alter_table("commitments") as batch:
        batch.drop_column("ended_at")
        batch.drop_column("consecutive_misses")
    with op.batch_alter_table("creditors") as batch:
        batch.drop_column("payment_webhook_secret")
        batch.drop_column("follow_through")
    op.drop_table("contact_decisions")
    op.drop_table("contacts")
