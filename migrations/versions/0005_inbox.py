"""inbox: wait reason, cleaner index, line marks

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-23 20:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('inbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wait_reason', sa.String(length=200), nullable=True))
        batch_op.create_index(
            'ix_inbox_messages_state_processed', ['state', 'processed_at'], unique=False
        )
    op.create_table(
        'inbox_line_marks',
        sa.Column('job_id', sa.Integer(), nullable=False),
        sa.Column('device_key', sa.Integer(), nullable=False),
        sa.Column('cleaned_through', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('job_id', 'device_key', name=op.f('pk_inbox_line_marks')),
    )


def downgrade():
    op.drop_table('inbox_line_marks')
    with op.batch_alter_table('inbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_messages_state_processed')
        batch_op.drop_column('wait_reason')
