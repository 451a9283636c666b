"""A deal started by an event rather than a start form (a message, a timer): its row, its
`instance_started` audit event and its engine, before the first advance."""
from __future__ import annotations

from engine import audit
from engine.bpmn.runtime import Runner
from engine.bpmn.tasks import new_workflow
from engine.store import deal_rows


def new_deal(sg, s, pv, spec_source, actor: str, now, element_id: str, details: dict,
             business_key: str | None = None) -> tuple[deal_rows.Record, Runner]:
    """Add the deal of version `pv` with no data, audited as started at `element_id`; returns it and its
    engine, not yet advanced. Its title is the process's name with the business key, else its number."""
    spec, subs = sg.specs.spec_for(pv.id, spec_source)
    runner = Runner(new_workflow(spec, subs, sg.script_engine, {}), pv.model, sg.clock)
    instance = deal_rows.new_deal(s, process_version_id=pv.id, process_id=pv.process_id, version=pv.version,
                                  business_key=business_key, status="running", data={}, state={}, started_at=now,
                                  started_by=actor)
    audit.record(s, now, actor, "instance_started", instance_id=instance.id, process_id=pv.process_id,
                 version=pv.version, element_id=element_id, details=details)
    instance.title = f"{pv.model.get('name') or pv.process_id} {business_key or f'#{instance.id}'}"[:255]
    return instance, runner
