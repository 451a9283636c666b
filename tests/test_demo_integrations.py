"""The demo's integrations run on this machine: an Administrator, mail addresses, the played history
not sent again, and a gate.decided webhook whose local receiver accepts only valid signatures."""
from sqlalchemy import func, select

from workflows.demo_integrations import set_up, start_receiver
from engine.store.models import OutboxEvent
from engine.services.notification_settings import settings_of
from engine.services.relay import deliver_due, relay_events
from engine.queries.integrations import delivery_log, subscriptions
from tests.conftest import STAFF
from tests.drive import Driver


def test_the_demo_sends_gate_decisions_to_its_local_receiver(catalog, make_sg):
    drive = Driver(make_sg)
    drive.start()  # history played before the demo's integrations exist
    set_up(drive.sg, STAFF, "a demo password", drive.sg.now())
    with drive.sg.uow(write=False) as uow:
        assert uow.session.execute(select(func.count()).where(OutboxEvent.relayed_at.is_(None))).scalar() == 0
    assert settings_of(drive.sg, "alex", "alex")["email"] == "alex@example.test"
    url = start_receiver(drive.sg)
    assert start_receiver(drive.sg) != url, "a restart moves the one demo subscription to the new receiver"
    [sub] = subscriptions(drive.sg, "alex")
    iid = drive.to_proposal()
    relay_events(drive.sg)
    assert deliver_due(drive.sg) == {"delivered": 2, "failed": 0, "dead": 0}  # qualification, discovery
    log = delivery_log(drive.sg, "alex", sub["id"])["deliveries"]
    assert [(d["type"], d["instance_id"], d["attempts"][0]["status_code"]) for d in log] == [
        ("gate.decided", iid, 204)] * 2


def test_the_demo_servers_worker_thread_makes_its_passes(catalog, make_sg):
    import time
    from engine.store.models import WorkerBeat
    from workflows.demo_integrations import start_worker
    sg = make_sg()
    stop = start_worker(sg, interval=0.05)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with sg.uow(write=False) as uow:
                beats = uow.session.execute(select(WorkerBeat.worker_id)).scalars().all()
            if beats:
                break
            time.sleep(0.05)
    finally:
        stop.set()  # a worker left running would act on the databases of later tests
    assert any(b.endswith(":demo") for b in beats), "the demo worker recorded a pass"
