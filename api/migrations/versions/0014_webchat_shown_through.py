"""what each web-chat session was shown (a resumed session is shown what it missed)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 21:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("webchat_shown_through", sa.Integer(), nullable=True))
    # What was written before this change was shown then: a resumed session is not shown it again.
    op.execute(
        "UPDATE conversations SET webchat_shown_through = (SELECT max(messages.id) FROM messages "
        "WHERE messages.conversation_id = conversations.id AND messages.direction = 'outbound') "
        "WHERE channel = 'webchat'"
    )


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("webchat_shown_through")
