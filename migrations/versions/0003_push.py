"""push: count the job changes each push coalesces

Revision ID: 0003
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("pushes") as batch:
        batch.add_column(sa.Column("coalesced", sa.Integer(), nullable=False, server_default="1"))
        batch.create_index("ix_pushes_device_state", ["device_id", "state"])


def downgrade():
    with op.batch_alter_table("pushes") as batch:
        batch.drop_index("ix_pushes_device_state")
        batch.drop_column("coalesced")
