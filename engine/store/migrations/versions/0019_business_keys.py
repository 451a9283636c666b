"""business keys: the caller's own reference for a deal (a CRM or ERP id), shown and searched

Revision ID: 0019_business_keys
Revises: 0018_dmn_language
Create Date: 2026-12-01 13:10:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0019_business_keys'
down_revision = '0018_dmn_language'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('instances', sa.Column('business_key', sa.String(length=255), nullable=True))
    op.create_index('ix_instances_business_key', 'instances', ['business_key'])


def downgrade() -> None:
    op.drop_index('ix_instances_business_key', table_name='instances')
    op.drop_column('instances', 'business_key')
