"""user administration: the audit of changes to users and their devices

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-01 09:00:00

"""
from alembic import op
import sqlalchemy as sa

import portal.models.base


revision = '0010'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'user_audit',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('at', portal.models.base.UTCDateTime(), nullable=False),
        sa.Column('action', sa.String(length=30), nullable=False),
        sa.Column('before', sa.JSON(), nullable=True),
        sa.Column('after', sa.JSON(), nullable=True),
        sa.Column('note', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_user_audit_actor_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_audit_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_user_audit')),
    )
    with op.batch_alter_table('user_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_audit_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_audit_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('user_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_audit_user_id'))
        batch_op.drop_index(batch_op.f('ix_user_audit_at'))
    op.drop_table('user_audit')
