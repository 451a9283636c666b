"""Webhooks against a real receiver on a loopback port: events are written in the step's own
transaction, delivered signed per Standard Webhooks, retried with backoff through failures and
timeouts, in order per deal, under one id each; dead after a day, with the error kept; replayable."""
import pytest
from sqlalchemy import func, select

from engine.queries import records as queries
from engine.services.deployment import deploy
from engine.errors import FormInvalid, Refused, StepFailed
from engine.services.instances import complete_task, start_instance
from engine.store.models import OutboxEvent, WebhookDelivery
from engine.store.models import AuditEvent
from engine.integration_settings import IntegrationSettings
from engine.services.outbox import WEBHOOK_EVENTS
from engine.services.relay import deliver_due, relay_events
from engine.queries.integrations import delivery_log, subscriptions
from engine.services.webhooks import create_subscription, replay, update_subscription
from tests.drive import DISCOVERY, DISCOVERY_GO, LOOK_BACK, Driver
from tests.receivers import WebhookReceiver

FAST = dict(webhook_timeout=0.3, webhook_first_retry=1.0, webhook_max_retry=4.0)


@pytest.fixture
def drive(catalog, make_sg):
    d = Driver(make_sg)
    d.make_sg = lambda clock=None: _fast(make_sg(clock=clock))
    d.sg = _fast(d.sg)
    return d


def _fast(sg):
    sg.integrations = IntegrationSettings(**FAST)
    return sg


def outbox(sg, instance_id=None) -> list[tuple[str, str]]:
    with sg.uow(write=False) as uow:
        q = select(OutboxEvent.event_id, OutboxEvent.type).order_by(OutboxEvent.id)
        if instance_id is not None:
            q = q.where(OutboxEvent.instance_id == instance_id)
        return [tuple(r) for r in uow.session.execute(q)]


def run_worker(sg, rounds=200):
    """Worker passes until nothing is pending, moving the clock past each backoff."""
    for _ in range(rounds):
        relay_events(sg)
        deliver_due(sg)
        with sg.uow(write=False) as uow:
            pending = uow.session.execute(select(func.count()).where(WebhookDelivery.state == "pending")).scalar()
        if not pending:
            return
        sg.clock.advance(seconds=FAST["webhook_max_retry"] + 1)
    raise AssertionError("deliveries still pending")


def test_a_step_writes_its_events_in_its_own_transaction(drive):
    iid = drive.start()["id"]
    assert [t for _, t in outbox(drive.sg, iid)] == ["deal.started", "gate.decided", "deal.stage_changed", "task.created"]
    before = outbox(drive.sg)
    with pytest.raises(FormInvalid):
        drive.work(iid, "Task_Discovery", "sam", pain_points="")  # refused: nothing of the step is kept
    with pytest.raises(Refused):
        drive.work(iid, "Task_Discovery", "fiona", **DISCOVERY)  # not her role
    assert outbox(drive.sg) == before
    drive.work(iid, "Task_Discovery", "sam", **DISCOVERY)
    drive.work(iid, "Task_DiscoveryGateReview", "lena", **DISCOVERY_GO)
    assert [t for _, t in outbox(drive.sg, iid)][4:] == [
        "task.completed", "task.created", "task.completed", "gate.decided", "deal.stage_changed", "task.created"]
    assert len({i for i, _ in outbox(drive.sg)}) == len(outbox(drive.sg)), "each event has its own id"


def test_a_failed_step_sends_only_its_incident(sg, staff):
    from tests.test_incidents import BPMN, DMN

    staff()
    deploy(sg, [("probe.bpmn", BPMN), ("tier.dmn", DMN)], actor="cli:test")
    iid = start_instance(sg, "incident_probe", "sam", {})["id"]
    task_id = queries.ready_tasks(sg, instance_id=iid)[0]["id"]
    before = outbox(sg)
    with pytest.raises(StepFailed):
        complete_task(sg, task_id, "sam", {"amount": 5, "divisor": 0})
    assert [t for _, t in outbox(sg)[len(before):]] == ["incident.opened"], "no task.completed of the rolled-back step"


def test_every_event_arrives_in_order_per_deal_through_failures_and_timeouts(drive):
    # Every event is refused first, then times out, then gets through.
    cycle = ["fail", "timeout", "ok"]
    sub = create_subscription(drive.sg, "cli:test", "http://placeholder.invalid/", list(WEBHOOK_EVENTS))
    with WebhookReceiver(sub["secret"], lambda n: cycle[n % 3], slow=0.8) as rx:
        update_subscription(drive.sg, "cli:test", sub["id"], url=rx.url)
        a = drive.start()["id"]
        b = drive.start(deal_name="Beta pumps")["id"]
        drive.work(a, "Task_Discovery", "sam", **DISCOVERY)
        drive.work(b, "Task_Discovery", "sam", **DISCOVERY)
        drive.work(a, "Task_DiscoveryGateReview", "lena", **DISCOVERY_GO)
        run_worker(drive.sg)
        assert all(r["verified"] for r in rx.requests), "each request is signed with the subscription's secret"
        got = rx.accepted()
    for deal in (a, b):
        sent = outbox(drive.sg, deal)
        arrived = [(g["id"], g["type"]) for g in got if g["data"]["deal"]["id"] == deal]
        assert list(dict.fromkeys(arrived)) == sent, "every event of the deal, in the order it was committed"
    by_id = {}
    for r in rx.requests:  # retries and the timed-out tries carry the same id and the same body
        by_id.setdefault(r["headers"]["webhook-id"], set()).add(r["body"])
    assert all(len(bodies) == 1 for bodies in by_id.values())
    assert [r["answer"] for r in rx.requests].count("ok") == len(by_id), "each event was accepted once"
    assert len(by_id) == len(outbox(drive.sg))
    log = delivery_log(drive.sg, "cli:test", sub["id"])["deliveries"]
    assert all(d["state"] == "delivered" for d in log)
    tries = log[-1]["attempts"]
    assert [t["status_code"] for t in tries] == [500, None, 204]
    assert tries[0]["error"].startswith("HTTP 500") and "timed out" in tries[1]["error"]


def test_a_delivery_failing_for_a_day_is_dead_with_its_error_and_can_be_replayed(drive):
    answer = {"now": "fail"}
    with WebhookReceiver(None, lambda n: answer["now"]) as rx:
        sub = create_subscription(drive.sg, "cli:test", rx.url, ["gate.decided"])
        drive.start()
        relay_events(drive.sg)
        assert deliver_due(drive.sg)["failed"] == 1
        assert deliver_due(drive.sg)["failed"] == 0, "the next try waits for its backoff"
        drive.sg.clock.advance(hours=25)
        assert deliver_due(drive.sg)["dead"] == 1
        [dead] = delivery_log(drive.sg, "cli:test", sub["id"])["deliveries"]
        assert dead["state"] == "dead" and dead["last_error"].startswith("HTTP 500")
        assert subscriptions(drive.sg, "cli:test")[0]["deliveries"] == {"dead": 1}
        answer["now"] = "ok"
        assert replay(drive.sg, "cli:test", sub["id"])["replayed"] == [dead["id"]]
        assert deliver_due(drive.sg)["delivered"] == 1
    ids = [r["headers"]["webhook-id"] for r in rx.requests]
    assert len(ids) == 3 and len(set(ids)) == 1, "the replay carries the event's own id"


def test_only_administrators_manage_subscriptions(drive, staff):
    staff({"root": ["Administrator"]})
    with pytest.raises(Refused, match="administrator"):
        create_subscription(drive.sg, "sam", "https://example.com/h", ["gate.decided"])
    with pytest.raises(FormInvalid) as bad:
        create_subscription(drive.sg, "root", "ftp://example.com/h", ["gate.won"])
    assert set(bad.value.errors) == {"url", "event_types"}
    made = create_subscription(drive.sg, "root", "https://example.com/h", ["gate.decided"])
    assert made["secret"].startswith("whsec_")
    assert "secret" not in subscriptions(drive.sg, "root")[0]
    with drive.sg.uow(write=False) as uow:
        audited = uow.session.execute(select(AuditEvent.actor, AuditEvent.kind).where(
            AuditEvent.kind.like("webhook%"))).all()
    assert [tuple(a) for a in audited] == [("root", "webhook_subscribed")]


def test_workers_racing_deliver_each_event_once_in_order_per_deal(drive, make_sg):
    import threading

    sub = create_subscription(drive.sg, "cli:test", "http://placeholder.invalid/", list(WEBHOOK_EVENTS))
    with WebhookReceiver(sub["secret"], lambda n: "ok") as rx:
        update_subscription(drive.sg, "cli:test", sub["id"], url=rx.url)
        deals = [drive.start(deal_name=f"Deal {i}")["id"] for i in range(3)]
        for iid in deals:
            drive.work(iid, "Task_Discovery", "sam", **DISCOVERY)
        workers = [_fast(make_sg(clock=drive.sg.clock)) for _ in range(4)]
        errors = []

        def run(sg):
            try:
                for _ in range(5):
                    relay_events(sg)
                    deliver_due(sg, parallel=2)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
        threads = [threading.Thread(target=run, args=(w,)) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        ids = [r["headers"]["webhook-id"] for r in rx.requests]
        got = rx.accepted()
    assert sorted(ids) == sorted(i for i, _ in outbox(drive.sg)), "every event once, none twice"
    for iid in deals:
        assert [(g["id"], g["type"]) for g in got if g["data"]["deal"]["id"] == iid] == outbox(drive.sg, iid)


def test_how_a_deal_ends_is_its_last_event(drive):
    killed = drive.start(annual_revenue_musd=30)["id"]
    assert [t for _, t in outbox(drive.sg, killed)] == ["deal.started", "gate.decided", "deal.killed"]
    iid = drive.to_negotiation()
    drive.work(iid, "Task_Negotiate", "sally", outcome="won", final_price=440000)
    drive.work(iid, "Task_LookBack", "lena", **LOOK_BACK)
    assert [t for _, t in outbox(drive.sg, iid)][-3:] == ["task.created", "task.completed", "deal.won"]
    with drive.sg.uow(write=False) as uow:
        won = uow.session.execute(select(OutboxEvent).where(OutboxEvent.instance_id == iid)
                                  .order_by(OutboxEvent.id.desc()).limit(1)).scalar_one()
        assert won.data["outcome"]["kind"] == "won" and won.data["deal"]["status"] == "completed"


def test_after_a_secret_rotation_old_and_new_secrets_verify_for_a_day(drive):
    from engine.services.webhooks import rotate_secret

    with WebhookReceiver() as rx:
        first = create_subscription(drive.sg, "cli:test", rx.url, ["deal.started"])
        second = rotate_secret(drive.sg, "cli:test", first["id"])
        assert second["secret"] != first["secret"]
        drive.start()
        relay_events(drive.sg)
        deliver_due(drive.sg)
        drive.sg.clock.advance(hours=25)
        drive.start(deal_name="Later")
        relay_events(drive.sg)
        deliver_due(drive.sg)
    from standardwebhooks import Webhook, WebhookVerificationError

    def verifies(secret, request):
        try:
            Webhook(secret).verify(request["body"], request["headers"])
            return True
        except WebhookVerificationError:
            return False
    assert [(verifies(first["secret"], r), verifies(second["secret"], r)) for r in rx.requests] == [
        (True, True), (False, True)], "the old secret signs only the day after the rotation"


def test_pruning_drops_finished_events_and_keeps_what_is_still_to_deliver(drive):
    from engine.services.retention import prune

    answer = {"now": "ok"}
    with WebhookReceiver(None, lambda n: answer["now"]) as rx:
        create_subscription(drive.sg, "cli:test", rx.url, ["deal.started"])
        drive.start()
        relay_events(drive.sg)
        deliver_due(drive.sg)
        answer["now"] = "fail"
        late = drive.start(deal_name="Still failing")["id"]
        relay_events(drive.sg)
        deliver_due(drive.sg)
    drive.sg.clock.advance(days=31)
    before = len(outbox(drive.sg))
    r = prune(drive.sg, "cli:test", days=30)
    assert (r["deliveries"], r["attempts"]) == (1, 1)
    assert r["events"] == before - len(outbox(drive.sg)) == before - 1
    assert outbox(drive.sg) == [e for e in outbox(drive.sg, late) if e[1] == "deal.started"], \
        "the event still being retried stays"
