"""Create or upgrade the database schema with the alembic migrations shipped in engine/store/migrations."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from engine.store.db import make_engine
from engine.store.db_roles import grant_app_role

if TYPE_CHECKING:  # the store does not import the audit chain: migration 0016 signs it with the ring it is handed
    from engine.audit.keys import KeyRing

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, audit_keys: KeyRing, owner_url: str | None = None) -> None:
    """Bring the schema to the newest migration (idempotent). With `owner_url`, the migrations run as
    that role and the app's role (the user of `engine`) is granted what the app needs, and no more."""
    owner = make_engine(owner_url) if owner_url else engine
    try:
        cfg = alembic_config(owner)
        cfg.attributes["audit_keys"] = audit_keys  # migration 0016 signs the chain with it
        with owner.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            if owner is not engine:
                grant_app_role(conn, engine.url)
    finally:
        if owner is not engine:
            owner.dispose()


def signing_key_id(engine: Engine) -> str | None:
    """The id of the audit key the database's chain is signed with, or None (no chain, or not keyed yet)."""
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT key_id FROM audit_head WHERE id = 1")).scalar()
    except DBAPIError:  # no audit_head table, or one from before migration 0016
        return None
