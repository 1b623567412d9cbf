"""security: device records per technician, per-user session tokens

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 10:00:00

"""
import secrets

from alembic import op
import sqlalchemy as sa

import portal.models.base


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    # One installation id may be used by several technicians: each gets a record of their own.
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_constraint('uq_devices_device_id', type_='unique')
        batch_op.create_unique_constraint('uq_devices_user_device', ['user_id', 'device_id'])

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_token', sa.String(length=64), nullable=True))
    users = sa.table('users', sa.column('id', sa.Integer), sa.column('session_token', sa.String))
    conn = op.get_bind()
    for (user_id,) in conn.execute(sa.select(users.c.id)).all():
        conn.execute(
            users.update()
            .where(users.c.id == user_id)
            .values(session_token=secrets.token_urlsafe(32))
        )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('session_token', existing_type=sa.String(length=64), nullable=False)


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_token')
    # Keep each installation id's most recently used record, as the old unique rule demands.
    devices = sa.table(
        'devices',
        sa.column('id', sa.Integer),
        sa.column('device_id', sa.String),
        sa.column('last_seen_at', portal.models.base.UTCDateTime()),
    )
    conn = op.get_bind()
    keep: dict[str, tuple] = {}
    drop: list[int] = []
    rows = conn.execute(sa.select(devices.c.id, devices.c.device_id, devices.c.last_seen_at))
    for row in rows.all():
        best = keep.get(row.device_id)
        rank = (row.last_seen_at is not None, row.last_seen_at or 0, row.id)
        if best is None or rank > best[0]:
            if best is not None:
                drop.append(best[1])
            keep[row.device_id] = (rank, row.id)
        else:
            drop.append(row.id)
    if drop:
        conn.execute(devices.delete().where(devices.c.id.in_(drop)))
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_constraint('uq_devices_user_device', type_='unique')
        batch_op.create_unique_constraint('uq_devices_device_id', ['device_id'])
