"""The composition root: builds the database, spec store, script engine, sandbox and clock once."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from workflows.calendar import business_days_duration
from workflows.expressions import HELPERS, clamp, percent

from . import append_only  # noqa: F401 - the audit table's guards, before any create_all
from . import sandbox, sandbox_pool
from .clock import SystemClock
from .db import UnitOfWork, database_url, make_engine
from .jobs import JobRunner
from .runtime import make_script_engine
from .serialization import SpecStore
from .timekeeping import current_now


def _business_days(n):
    """business_days(3) -> the ISO duration to the same time three working days from now."""
    return business_days_duration(n, current_now())


DIAGRAM_HELPERS = {**HELPERS, "business_days": _business_days}
# Helpers cheap enough to call in-process from an expression the sandbox proves cheap: each does
# a bounded amount of work for any small arguments (business_days refuses more than 10,000 days).
for _name, _fn in (("percent", percent), ("clamp", clamp), ("business_days", _business_days)):
    sandbox.register_bounded(_name, _fn)


@dataclass
class Stagegate:
    """Everything a use case needs; passed explicitly to every service and query."""

    engine: Engine
    session_factory: sessionmaker
    specs: SpecStore
    script_engine: object
    clock: object
    jobs: JobRunner = field(default_factory=JobRunner)
    _disposed: bool = False

    def uow(self, write: bool = True) -> UnitOfWork:
        """A new unit of work (one transaction)."""
        return UnitOfWork(self.session_factory, write=write)

    def now(self):
        return self.clock.now()

    def dispose(self) -> None:
        """Finish the running background job, close the database connections; the last Stagegate of a
        process also stops the sandbox workers."""
        self.jobs.close()
        self.engine.dispose()
        if not self._disposed:
            self._disposed = True
            sandbox_pool.release()


def bootstrap(url: str | None = None, clock=None, helpers: dict | None = None, migrate: bool = False) -> Stagegate:
    """Build the application's runtime; with migrate=True also create or upgrade the schema.

    Diagram code runs in this process's sandbox worker pool (engine.sandbox_pool), shared by
    every Stagegate of the process; its workers start on first use and stop on the last dispose().
    """
    engine = make_engine(database_url(url))
    sg = Stagegate(
        engine=engine,
        session_factory=sessionmaker(bind=engine, expire_on_commit=False),
        specs=SpecStore(),
        script_engine=make_script_engine(DIAGRAM_HELPERS if helpers is None else helpers),
        clock=clock or SystemClock(),
    )
    sandbox_pool.acquire()
    if migrate:
        from .schema import upgrade

        upgrade(engine)
    return sg
