"""dispatcher portal: per-status job counts, sort indexes for the job list

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "job_status_counts",
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("status", name=op.f("pk_job_status_counts")),
    )
    # Start from the jobs that already exist; from here on every flush keeps it in step.
    op.execute(
        "INSERT INTO job_status_counts (status, count) "
        "SELECT status, COUNT(*) FROM jobs GROUP BY status"
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_customer", ["customer"], unique=False)
        batch_op.create_index("ix_jobs_title", ["title"], unique=False)


def downgrade():
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_title")
        batch_op.drop_index("ix_jobs_customer")
    op.drop_table("job_status_counts")
