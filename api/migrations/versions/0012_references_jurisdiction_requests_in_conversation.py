"""per-creditor reference formats, the account's jurisdiction and interest, data requests asked in a conversation

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("creditors") as batch:
        batch.add_column(sa.Column("reference_pattern", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("reference_example", sa.String(length=40), nullable=True))
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("interest_minor", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("jurisdiction", sa.String(length=2), nullable=False, server_default="FR"))
    # Accounts placed before the jurisdiction existed: the law of their currency's country where it is plain.
    op.execute("UPDATE accounts SET jurisdiction = 'GB' WHERE currency = 'GBP'")
    op.execute("UPDATE accounts SET jurisdiction = 'US' WHERE currency = 'USD'")
    with op.batch_alter_table("data_requests") as batch:
        batch.add_column(sa.Column("conversation_id", sa.String(length=32), nullable=True))
        batch.create_foreign_key("fk_data_requests_conversation_id", "conversations", ["conversation_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("data_requests") as batch:
        batch.drop_constraint("fk_data_requests_conversation_id", type_="foreignkey")
        batch.drop_column("conversation_id")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("jurisdiction")
        batch.drop_column("interest_minor")
    with op.batch_alter_table("creditors") as batch:
        batch.drop_column("reference_example")
        batch.drop_column("reference_pattern")
