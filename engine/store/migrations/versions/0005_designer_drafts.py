"""designer drafts, and a deploy comment on decision versions

Revision ID: 0005_designer_drafts
Revises: 0004
Create Date: 2026-11-26 23:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005_designer_drafts'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'designer_drafts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=True),
        sa.Column('file_name', sa.String(length=255), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('base_version', sa.Integer(), nullable=True),
        sa.Column('saved_by', sa.String(length=120), nullable=False),
        sa.Column('saved_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('kind', 'key'),
    )
    with op.batch_alter_table('decision_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('comment', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('decision_versions', schema=None) as batch_op:
        batch_op.drop_column('comment')
    op.drop_table('designer_drafts')
