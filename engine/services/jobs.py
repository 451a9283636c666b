"""Background jobs of one process (what-if replays): run in order on one thread, off the request."""
from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

log = logging.getLogger(__name__)


class JobRunner:
    """Runs submitted functions one at a time on a background thread (started on first use)."""

    def __init__(self):
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def submit(self, fn) -> Future:
        """Run fn() in the background; what it raises is logged (jobs record their own outcome)."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stagegate-job")
            return self._executor.submit(self._logged, fn)

    @staticmethod
    def _logged(fn):
        try:
            return fn()
        except Exception:  # noqa: BLE001 - a background failure must not vanish silently
            log.exception("background job failed")
            raise

    def close(self) -> None:
        """Drop queued jobs and wait for the running one (its own limits bound the wait)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
