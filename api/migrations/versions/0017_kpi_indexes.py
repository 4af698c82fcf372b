"""indexes for the KPI reports: messages by moment, and by conversation and moment

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 12:00:00
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A month's messages out of millions (PostgreSQL reads the range), and a conversation's messages of a period
    # (SQLite goes conversation by conversation): docs/kpis.md, "Performance".
    op.create_index("ix_messages_created_at", "messages", ["created_at"])
    op.create_index("ix_messages_conversation_id_created_at", "messages", ["conversation_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_messages_conversation_id_created_at", table_name="messages")
    op.drop_index("ix_messages_created_at", table_name="messages")
