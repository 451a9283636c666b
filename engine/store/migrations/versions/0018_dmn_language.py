"""the expression language a stored DMN file's cells default to

DMN 1.3 and Camunda 7 read a cell that declares no expressionLanguage as FEEL. Before FEEL was
supported the engine read such cells as Python; files stored then keep NULL here and are still
read as Python (engine/services/deployment.py), so the versions built from them decide as they did.

Revision ID: 0018_dmn_language
Revises: 0016_keyed_audit_and_sessions
Create Date: 2026-12-01 13:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0018_dmn_language'
down_revision = '0016_keyed_audit_and_sessions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('sources', sa.Column('dmn_language', sa.String(length=16), nullable=True))


def downgrade() -> None:
    op.drop_column('sources', 'dmn_language')
