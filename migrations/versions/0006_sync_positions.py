"""sync: commit-ordered feed positions, assignment history, pending photos

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 06:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'sync_positions',
        sa.Column('technician_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ['technician_id'], ['users.id'],
            name=op.f('fk_sync_positions_technician_id_users'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('technician_id', name=op.f('pk_sync_positions')),
    )
    with op.batch_alter_table('sync_feed', schema=None) as batch_op:
        batch_op.add_column(sa.Column('position', sa.BigInteger(), nullable=True))
        batch_op.drop_index('ix_sync_feed_technician_id_id')
    # Existing entries keep their order: an id is a position (cursors of the old form are
    # answered "cursor_expired", so the phones start over from a first sync).
    op.execute('UPDATE sync_feed SET position = id')
    with op.batch_alter_table('sync_feed', schema=None) as batch_op:
        batch_op.alter_column('position', existing_type=sa.BigInteger(), nullable=False)
    op.execute(
        'INSERT INTO sync_positions (technician_id, position) '
        'SELECT technician_id, MAX(id) FROM sync_feed GROUP BY technician_id'
    )
    op.create_index(
        'ix_sync_feed_technician_position', 'sync_feed', ['technician_id', 'position'],
        unique=True,
    )

    op.create_table(
        'job_assignments',
        sa.Column('job_id', sa.Integer(), nullable=False),
        sa.Column('technician_id', sa.Integer(), nullable=False),
        sa.Column('first_assigned_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['job_id'], ['jobs.id'], name=op.f('fk_job_assignments_job_id_jobs'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['technician_id'], ['users.id'],
            name=op.f('fk_job_assignments_technician_id_users'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('job_id', 'technician_id', name=op.f('pk_job_assignments')),
    )
    op.create_index(
        op.f('ix_job_assignments_technician_id'), 'job_assignments', ['technician_id'],
        unique=False,
    )
    # Who had each job so far: its assignee, and every technician whose feed it was in.
    op.execute(
        "INSERT INTO job_assignments (job_id, technician_id, first_assigned_at) "
        "SELECT h.job_id, h.technician_id, MIN(h.at) FROM ("
        "  SELECT id AS job_id, assignee_id AS technician_id, created_at AS at FROM jobs"
        "  WHERE assignee_id IS NOT NULL"
        "  UNION ALL"
        "  SELECT f.job_id, f.technician_id, f.created_at FROM sync_feed f"
        "  JOIN jobs j ON j.id = f.job_id WHERE f.kind IN ('upsert', 'remove')"
        ") h GROUP BY h.job_id, h.technician_id"
    )

    op.create_table(
        'pending_photos',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('job_id', sa.Integer(), nullable=False),
        sa.Column('technician_id', sa.Integer(), nullable=False),
        sa.Column('device_id', sa.Integer(), nullable=True),
        sa.Column('client_file_id', sa.String(length=100), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['device_id'], ['devices.id'], name=op.f('fk_pending_photos_device_id_devices'),
            ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['job_id'], ['jobs.id'], name=op.f('fk_pending_photos_job_id_jobs'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['technician_id'], ['users.id'],
            name=op.f('fk_pending_photos_technician_id_users'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_photos')),
        sa.UniqueConstraint(
            'technician_id', 'client_file_id', name='uq_pending_photos_client_file'
        ),
    )
    op.create_index(op.f('ix_pending_photos_job_id'), 'pending_photos', ['job_id'], unique=False)
    op.create_index(
        op.f('ix_pending_photos_created_at'), 'pending_photos', ['created_at'], unique=False
    )
    with op.batch_alter_table('job_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_id', sa.Integer(), nullable=True))
    if op.get_bind().dialect.name == 'sqlite':
        # Never reuse a message id once the cleaner deleted the newest ones (PostgreSQL's
        # sequence never does): history and feed entries name messages by id.
        with op.batch_alter_table(
            'inbox_messages', recreate='always', table_kwargs={'sqlite_autoincrement': True}
        ):
            pass


def downgrade():
    with op.batch_alter_table('job_events', schema=None) as batch_op:
        batch_op.drop_column('message_id')
    op.drop_index(op.f('ix_pending_photos_created_at'), table_name='pending_photos')
    op.drop_index(op.f('ix_pending_photos_job_id'), table_name='pending_photos')
    op.drop_table('pending_photos')
    op.drop_index(op.f('ix_job_assignments_technician_id'), table_name='job_assignments')
    op.drop_table('job_assignments')
    op.drop_index('ix_sync_feed_technician_position', table_name='sync_feed')
    with op.batch_alter_table('sync_feed', schema=None) as batch_op:
        batch_op.create_index('ix_sync_feed_technician_id_id', ['technician_id', 'id'])
        batch_op.drop_column('position')
    op.drop_table('sync_positions')
