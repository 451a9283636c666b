"""What is stored, as comparable plain data: a refusal must leave it exactly as it was."""
from sqlalchemy import select

from engine.store.models import AuditEvent, HumanTask, Incident, Instance, ProcessVersion, Source


def stored(sg, with_incidents=True) -> dict:
    with sg.uow(write=False) as uow:
        s = uow.session
        out = {
            "instances": [(i.id, i.status, i.lock_version, i.stage, i.data, i.state)
                          for i in s.execute(select(Instance).order_by(Instance.id)).scalars()],
            "human_tasks": [(t.id, t.state, t.completed_by)
                            for t in s.execute(select(HumanTask).order_by(HumanTask.id)).scalars()],
            "audit": [(e.seq, e.kind, e.hash) for e in s.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars()],
            "versions": [(v.process_id, v.version) for v in s.execute(select(ProcessVersion)).scalars()],
            "sources": sorted(x.sha256 for x in s.execute(select(Source)).scalars()),
        }
        if with_incidents:
            out["incidents"] = [x.id for x in s.execute(select(Incident)).scalars()]
        return out
