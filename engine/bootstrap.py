"""The composition root: builds the database, spec store, script engine and clock once."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from workflows.calendar import business_days_duration
from workflows.expressions import HELPERS

from . import append_only  # noqa: F401 - the audit table's guards, before any create_all
from .clock import SystemClock
from .db import UnitOfWork, database_url, make_engine
from .runtime import make_script_engine
from .serialization import SpecStore
from .timekeeping import current_now


def _business_days(n):
    """business_days(3) -> the ISO duration to the same time three working days from now."""
    return business_days_duration(n, current_now())


DIAGRAM_HELPERS = {**HELPERS, "business_days": _business_days}


@dataclass
class Stagegate:
    """Everything a use case needs; passed explicitly to every service and query."""

    engine: Engine
    session_factory: sessionmaker
    specs: SpecStore
    script_engine: object
    clock: object

    def uow(self, write: bool = True) -> UnitOfWork:
        """A new unit of work (one transaction)."""
        return UnitOfWork(self.session_factory, write=write)

    def now(self):
        return self.clock.now()

    def dispose(self) -> None:
        self.engine.dispose()


def bootstrap(url: str | None = None, clock=None, helpers: dict | None = None, migrate: bool = False) -> Stagegate:
    """Build the application's runtime; with migrate=True also create or upgrade the schema."""
    engine = make_engine(database_url(url))
    sg = Stagegate(
        engine=engine,
        session_factory=sessionmaker(bind=engine, expire_on_commit=False),
        specs=SpecStore(),
        script_engine=make_script_engine(DIAGRAM_HELPERS if helpers is None else helpers),
        clock=clock or SystemClock(),
    )
    if migrate:
        from .schema import upgrade

        upgrade(engine)
    return sg
