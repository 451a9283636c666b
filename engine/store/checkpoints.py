"""SQLite's WAL checkpoints, run by a background thread instead of by the commit that happens to
fill the log.

SQLite copies the write-ahead log back into the database file (and syncs it) inside whichever
commit takes the log past 1,000 pages: measured on deal starts, one commit in sixty took 50-270 ms
instead of 0.3 ms, a third of all the time spent starting deals, and every writer queued behind it.
Here the database's connections never checkpoint on commit (wal_autocheckpoint=0); each process
that writes runs one thread which, every quarter second after writes, asks for a PASSIVE checkpoint
on a connection of its own (every twentieth of a second while each round finds the log past
1,000 pages): it copies what no reader still needs, without blocking readers or writers. SQLite
starts the log over only when a writer finds all of it copied, which never happens while writers
keep appending, so once the log passes 1,000 pages the thread also takes its turn in
the writers' queue and, with the writers held out for the few milliseconds it takes, copies the
last pages and has the log started over (a RESTART checkpoint), cut back to 16 MiB. The
last connection to close still checkpoints, as SQLite always does.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time

INTERVAL_S = 0.25  # how often, at most, the log is copied back while writes go on
IDLE_EXIT_S = 30.0  # a thread with no writes to follow for this long stops (the next write starts one)
RESTART_PAGES = 1000  # SQLite's own autocheckpoint threshold: past this the log is started over
BUSY_INTERVAL_S = 0.05  # after a restart: writes outrun a quarter second's pace, look again sooner
READERS_WAIT_S = 0.2  # how long a RESTART waits for readers of the old log (steps read for milliseconds)


class Checkpointer:
    """The background checkpoints of one SQLite file, in the process that writes to it."""

    def __init__(self, database_path: str, writers=None, interval_s: float = INTERVAL_S):
        self.path, self.writers, self.interval_s = database_path, writers, interval_s
        self._lock = threading.Lock()
        self._wrote = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self.checkpoints = self.restarts = 0  # how many this process ran (for tests and benchmarks)

    def wrote(self) -> None:
        """A transaction committed writes: make sure a checkpoint follows."""
        self._wrote.set()
        thread = self._thread
        if thread is None or not thread.is_alive() or self._pid != os.getpid():
            self._start()

    def stop(self) -> None:
        """Stop the thread after one last checkpoint (Stagegate.dispose)."""
        self._stop.set()
        self._wrote.set()  # wakes a thread waiting for writes now, not at the end of its wait
        thread = self._thread
        if thread is not None and self._pid == os.getpid():
            thread.join(10)

    def _start(self) -> None:
        with self._lock:
            thread = self._thread
            if thread is not None and thread.is_alive() and self._pid == os.getpid():
                return
            if self._stop.is_set():
                return
            self._pid = os.getpid()  # a forked worker runs its own: threads do not survive fork()
            self._thread = threading.Thread(target=self._run, name=f"wal-checkpoints {self.path}", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=READERS_WAIT_S, isolation_level=None, check_same_thread=False)
        try:
            idle_since = time.monotonic()
            while not self._stop.is_set():
                if self._wrote.wait(self.interval_s):
                    if self._stop.is_set():
                        break
                    self._wrote.clear()
                    restarted = self._checkpoint(conn)
                    idle_since = time.monotonic()
                    # Let the log gather a quarter second's pages; after a restart, writes fill it faster
                    # than that bounds its size: then look again sooner.
                    self._stop.wait(min(self.interval_s, BUSY_INTERVAL_S) if restarted else self.interval_s)
                elif time.monotonic() - idle_since > IDLE_EXIT_S and not self._wrote.is_set():
                    return
            self._checkpoint(conn)
        finally:
            conn.close()

    def _checkpoint(self, conn) -> bool:
        """Copy the log back; True when it had passed RESTART_PAGES and was started over."""
        try:
            _busy, pages, _copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            self.checkpoints += 1
            if pages >= RESTART_PAGES and self.writers is not None:
                with self.writers:  # no writer appends meanwhile: what is left to copy is what came since
                    conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
                self.restarts += 1
                return True
        except sqlite3.Error:
            pass  # the file went away (a test's scratch database) or is busy: the next round tries again
        return False


def wal_checkpoints(engine, writers) -> Checkpointer | None:
    """The background checkpoints of the SQLite file the engine writes to (its writers queue on
    `writers`, engine/store/db.py); None for a server database or memory."""
    db = engine.url.database
    return Checkpointer(db, writers) if engine.dialect.name == "sqlite" and db not in (None, "", ":memory:") else None
