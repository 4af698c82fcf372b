"""agents serve named creditors only

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 11:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_creditors",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("creditor_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"]),
        sa.ForeignKeyConstraint(["creditor_id"], ["creditors.id"]),
        sa.PrimaryKeyConstraint("agent_id", "creditor_id"),
    )
    # Agents made before this revision served every creditor: keep what they could do on a deployment with
    # one creditor; with several, an administrator assigns them (python -m api.cli assign-agent).
    creditors = op.get_bind().execute(sa.text("select id from creditors")).scalars().all()
    if len(creditors) == 1:
        op.execute(sa.text(f"insert into agent_creditors (agent_id, creditor_id) select id, {int(creditors[0])} from agents"))


def downgrade() -> None:
    op.drop_table("agent_creditors")
