"""push: coalesced change count, the jobs each push speaks for

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("pushes") as batch:
        batch.add_column(sa.Column("coalesced", sa.Integer(), nullable=False, server_default="1"))
        batch.create_index("ix_pushes_device_state", ["device_id", "state"])
    op.create_table(
        "push_jobs",
        sa.Column("push_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["push_id"],
            ["pushes.id"],
            name=op.f("fk_push_jobs_push_id_pushes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("push_id", "job_id", name=op.f("pk_push_jobs")),
    )
    op.create_index(op.f("ix_push_jobs_job_id"), "push_jobs", ["job_id"])


def downgrade():
    op.drop_index(op.f("ix_push_jobs_job_id"), table_name="push_jobs")
    op.drop_table("push_jobs")
    with op.batch_alter_table("pushes") as batch:
        batch.drop_index("ix_pushes_device_state")
        batch.drop_column("coalesced")
