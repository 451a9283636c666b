"""The composition root: plugs the sales domain into the engine and builds the database, spec store,
script engine, sandbox and clock once."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from engine import domain, sandbox
from engine.audit import KEYS
from engine.audit import keys as audit_key
from engine.audit.keys import AuditKeyError, KeyRing
from engine.bpmn import juel
from engine.bpmn.script_engine import make_script_engine
from engine.bpmn.serialization import SpecStore, VersionInfo
from engine.clock import SystemClock
from engine.integration_settings import IntegrationSettings
from engine.sandbox import pool as sandbox_pool
from engine.services import outbox
from engine.services.jobs import JobRunner
from engine.store import append_only  # noqa: F401 - the audit table's guards, before any create_all
from engine.store.checkpoints import Checkpointer, wal_checkpoints
from engine.store.db import UnitOfWork, WriterQueue, database_url, make_engine, owner_database_url, writer_queue
from engine.store.file_store import FileStore, LocalFileStore
from engine.store.models import ProcessVersion
from workflows.domain import SALES

# The sales domain plugged into the engine, in this process and in its sandbox workers (which
# import this module before they start: the helpers diagrams call and the what-if replay). The
# engine's outbox watches every step too: the events webhooks and mail are made from.
domain.install(replace(SALES, step_observers=(*SALES.step_observers, outbox.observe_step)))
sandbox_pool.preload(__name__)
DIAGRAM_HELPERS = dict(SALES.helpers)
for _name in SALES.bounded_helpers:
    sandbox.register_bounded(_name, SALES.helpers[_name])
for _name, _fn in juel.HELPERS.items():  # Camunda's date built-ins, for translated JUEL
    sandbox.register_bounded(_name, _fn)


@dataclass
class Stagegate:
    """Everything a use case needs; passed explicitly to every service and query."""

    engine: Engine
    session_factory: sessionmaker
    specs: SpecStore
    script_engine: object
    clock: object
    audit_keys: KeyRing
    jobs: JobRunner = field(default_factory=JobRunner)
    integrations: IntegrationSettings = field(default_factory=IntegrationSettings.from_env)
    writers: WriterQueue | None = None  # SQLite's writers, queued on a file lock (engine/store/db.py)
    checkpoints: Checkpointer | None = None  # SQLite's WAL copied back by a thread (engine/store/checkpoints.py)
    _disposed: bool = False

    def uow(self, write: bool = True) -> UnitOfWork:
        """A new unit of work (one transaction)."""
        return UnitOfWork(self.session_factory, write=write, writers=self.writers, checkpoints=self.checkpoints)

    def version(self, s, version_id: int) -> VersionInfo:
        """A process version's id, process, number and model from the cache; its row (the BPMN source
        and model JSON) read through session `s` on a miss only."""
        return self.specs.version(version_id, lambda: s.get(ProcessVersion, version_id))

    def spec(self, s, version_id: int) -> tuple:
        """A process version's restored (spec, subprocess_specs) from the cache; its stored spec read
        through session `s` on a miss only."""
        return self.specs.spec_for(version_id, lambda: s.get(ProcessVersion, version_id).spec)

    def lone_read(self):
        """A connection for one read statement outside any unit of work (engine.store.prepared runs on
        it): the statement sees one committed snapshot and costs no session or transaction of its own."""
        return self.engine.connect()

    def now(self):
        return self.clock.now()

    def use_audit_keys(self, ring: KeyRing) -> None:
        """Sign the audit events of every later unit of work with `ring` (after a key rotation)."""
        self.audit_keys = ring
        self.session_factory.configure(info={KEYS: ring})

    def dispose(self) -> None:
        """Finish the running background job, close the database connections; the last Stagegate of a
        process also stops the sandbox workers."""
        self.jobs.close()
        if self.checkpoints is not None:
            self.checkpoints.stop()
        self.engine.dispose()
        if not self._disposed:
            self._disposed = True
            sandbox_pool.release()


def bootstrap(url: str | None = None, clock=None, helpers: dict | None = None, migrate: bool = False,
              audit_keys: KeyRing | None = None, owner_url: str | None = None) -> Stagegate:
    """Build the application's runtime; with migrate=True also create or upgrade the schema, as the
    owner (`owner_url`, else STAGEGATE_OWNER_DATABASE_URL, else the app's own URL), and make the
    audit key if there is none yet. The audit keys come from `audit_keys`, else engine/audit/keys.py.

    Diagram code runs in this process's sandbox worker pool (engine.sandbox.pool), shared by
    every Stagegate of the process; its workers start on first use and stop on the last dispose().
    """
    engine = make_engine(database_url(url))
    keys = audit_keys or audit_key.load()
    if keys is None and migrate:
        keys = _first_key(engine)
    if keys is None:
        engine.dispose()
        raise AuditKeyError(audit_key.missing_key_message())
    sg = Stagegate(
        engine=engine,
        session_factory=sessionmaker(bind=engine, expire_on_commit=False, info={KEYS: keys}),
        specs=SpecStore(),
        script_engine=make_script_engine(DIAGRAM_HELPERS if helpers is None else helpers),
        clock=clock or SystemClock(),
        audit_keys=keys,
        writers=(writers := writer_queue(engine)),
        checkpoints=wal_checkpoints(engine, writers),
    )
    sandbox_pool.acquire()
    if migrate:
        from engine.store.schema import upgrade

        upgrade(engine, keys, owner_database_url(owner_url))
    return sg


def open_file_store(root) -> FileStore:
    """The attachments' file store: files on this machine's disk under `root`."""
    return LocalFileStore(root)


def _first_key(engine: Engine) -> KeyRing:
    """Make the installation's audit key, unless the database is already signed with one (then it was lost)."""
    from engine.store.schema import signing_key_id

    kid = signing_key_id(engine)
    if kid is not None:
        engine.dispose()
        raise AuditKeyError(f"{audit_key.missing_key_message()}. This database's audit chain is signed with "
                            f"audit key {kid}; a new key would not verify it")
    return audit_key.load(create=True)
