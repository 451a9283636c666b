"""What-if replays as background jobs: posting one returns at once, the page polls its status.

A job row lives in the database, so any server process can answer the poll; the process that
accepted the job runs it (engine.services.jobs) as a sandbox job bounded by sandbox.JOB_LIMITS.
"""
from __future__ import annotations

import logging
from datetime import timedelta, timezone

from sqlalchemy import delete

from engine import sandbox
from engine.clock import iso
from engine.bpmn.dmn.decisions import read_draft
from engine.errors import JobStopped, NotFound, StagegateError
from engine.store.models import WhatIfJob
from workflows.metrics.report import require_reader
from workflows.metrics.whatif import what_if

log = logging.getLogger(__name__)

KEEP = timedelta(days=1)  # finished jobs older than this are deleted when a new one is posted
WAITING = ("queued", "running")


def start_what_if(sg, actor: str, content: bytes, file_name: str = "draft.dmn",
                  process_id: str | None = None) -> dict:
    """Queue a what-if replay of a draft table for `actor`; returns the job's id and status.

    The draft is read first, so InvalidDiagram says at once what is wrong with it."""
    require_reader(sg, actor)
    read_draft(content, file_name)
    now = sg.now()
    with sg.uow() as uow:
        s = uow.session
        s.execute(delete(WhatIfJob).where(WhatIfJob.created_at < now - KEEP))
        job = WhatIfJob(created_by=actor, created_at=now, file_name=file_name[:255], process_id=process_id,
                        content=content, status="queued")
        s.add(job)
        s.flush()
        job_id = job.id
        uow.commit()
    sg.jobs.submit(lambda: run_job(sg, job_id))
    return {"id": job_id, "status": "queued"}


def run_job(sg, job_id: int) -> None:
    """Run a queued replay and record how it ended (done with its result, or failed and why)."""
    with sg.uow() as uow:
        job = uow.session.get(WhatIfJob, job_id)
        if job is None or job.status != "queued":
            return
        job.status, job.started_at = "running", sg.now()
        content, file_name, process_id = job.content, job.file_name, job.process_id
        uow.commit()
    outcome = {"result": None, "error": None, "limit_hit": None}
    try:
        outcome["result"] = what_if(sg, content, file_name, process_id)
    except JobStopped as exc:
        outcome.update(error=str(exc), limit_hit=exc.limit)
    except StagegateError as exc:
        outcome["error"] = str(exc)
    except Exception as exc:  # noqa: BLE001 - the job must end visibly, whatever happened
        log.exception("what-if job %s failed", job_id)
        outcome["error"] = f"the replay failed: {type(exc).__name__}"
    with sg.uow() as uow:
        job = uow.session.get(WhatIfJob, job_id)
        job.status = "failed" if outcome["error"] else "done"
        job.result, job.error, job.limit_hit = outcome["result"], outcome["error"], outcome["limit_hit"]
        job.finished_at, job.content = sg.now(), b""
        uow.commit()


def what_if_job(sg, actor: str, job_id: int) -> dict:
    """The state of one of `actor`'s replays: queued, running, done (with its result) or failed (why)."""
    require_reader(sg, actor)
    with sg.uow(write=False) as uow:
        job = uow.session.get(WhatIfJob, job_id)
        if job is None or job.created_by != actor:
            raise NotFound(f"no what-if replay {job_id} of yours")
        out = {"id": job.id, "status": job.status, "file": job.file_name, "created_at": iso(job.created_at),
               "started_at": iso(job.started_at), "finished_at": iso(job.finished_at),
               "result": job.result, "error": job.error, "limit": job.limit_hit}
        created = job.created_at
    if out["status"] in WAITING:
        # A job outlives its wall-clock limit only if the process running it went away.
        stale_after = timedelta(seconds=sandbox.JOB_LIMITS.wall_seconds * 3 + 60)
        if created.tzinfo is None:  # SQLite keeps naive UTC
            created = created.replace(tzinfo=timezone.utc)
        if sg.now() - created > stale_after:
            out.update(status="failed", error="the server process running this replay stopped before it "
                                              "finished; post the table again")
    return out
