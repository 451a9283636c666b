"""Timer start events: a deployed version starts deals on its schedule (timeDate, timeDuration, ISO
cycles, Quartz cron), driven by the worker's pass, each due time exactly once however many workers run;
and Quartz cron on a boundary timer."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from functools import partial

import pytest

from engine.bpmn import quartz, schedules
from engine.clock import FrozenClock
from engine.errors import InvalidDiagram
from engine.queries import records as queries
from engine.services.deployment import deploy
from engine.services.external_steps import complete_external_task
from engine.services.external_tasks import fetch_and_lock
from engine.services.instances import start_instance
from engine.services.start_timers import start_due_deals
from engine.services.timers import fire_due_timers
from engine.services.worker import worker_pass
from engine.store.models import AuditEvent, Instance
from tests import diagram_factory as f
from tests.conftest import SHARED

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)  # a Tuesday


def scheduled(timer: str, kind: str = "timeCycle", pid: str = "nightly", task: str = "Check stock") -> bytes:
    return f.definitions(f'''  <bpmn:process id="{pid}" name="Nightly check" isExecutable="true">
    <bpmn:startEvent id="Every"><bpmn:timerEventDefinition><bpmn:{kind}>{timer}</bpmn:{kind}>
      </bpmn:timerEventDefinition></bpmn:startEvent>
    <bpmn:userTask id="Check" name="{task}" camunda:candidateGroups="Sales" />
    <bpmn:endEvent id="Done" />
    <bpmn:sequenceFlow id="F1" sourceRef="Every" targetRef="Check" />
    <bpmn:sequenceFlow id="F2" sourceRef="Check" targetRef="Done" />
  </bpmn:process>
''', pid).encode()


def deals(sg, pid="nightly") -> list[dict]:
    with sg.uow(write=False) as uow:
        return [{"id": i.id, "version": i.version, "started_by": i.started_by, "started_at": i.started_at}
                for i in uow.session.query(Instance).filter_by(process_id=pid).order_by(Instance.id)]


@pytest.fixture
def clocked(make_sg):
    clock = FrozenClock(T0)
    return clock, partial(make_sg, clock=clock)


def test_quartz_cron_next_fire_times():
    at = datetime(2026, 12, 1, 16, 0, tzinfo=timezone.utc)  # Tuesday 1 December 2026
    cases = {"0 0 9 * * ?": datetime(2026, 12, 2, 9), "0 0 9 ? * MON-FRI": datetime(2026, 12, 2, 9),
             "0 0 9 ? * SAT,SUN": datetime(2026, 12, 5, 9), "0 30 10 ? * 6L": datetime(2026, 12, 25, 10, 30),
             "0 0 0 LW * ?": datetime(2026, 12, 31), "0 0 12 ? * 2#1": datetime(2026, 12, 7, 12),
             "0/5 0/1 * 1/1 * ?": datetime(2026, 12, 1, 16, 0, 5), "0 15 10 L-2 * ?": datetime(2026, 12, 29, 10, 15),
             "0 0 8 1W * ? 2027": datetime(2027, 1, 1, 8), "0 0 22-2 ? * FRI-MON": datetime(2026, 12, 4, 0),
             "0 0 9 15 JAN,JUL ?": datetime(2027, 1, 15, 9), "0 0 9 1 1 ? 2020": None}
    for text, expected in cases.items():
        got = quartz.parse(text).next_after(at)
        assert got == (expected and expected.replace(tzinfo=timezone.utc)), text
    # 1 January 2027 is a Friday, so 1W is that day; 1 May 2027 is a Saturday: 1W is Monday the 3rd
    assert quartz.parse("0 0 8 1W * ?").next_after(datetime(2027, 4, 2, tzinfo=timezone.utc)).day == 3


@pytest.mark.parametrize("timer, kind, problem", [
    ("0 0 9 * * *", "timeCycle", "must have `?` in exactly one of day of month and day of week"),
    ("0 9 * * *", "timeCycle", "it has 5 fields; Quartz cron has 6 or 7"),
    ("0 0 25 * * ?", "timeCycle", "the hour field `25` is outside 0-23"),
    ("every day", "timeCycle", "is not an ISO 8601 repetition (R3/PT10M, R/2026-01-01T00:00/P1D) or Quartz cron"),
    ("${cycle}", "timeCycle", "is an expression, but a timer start event's schedule is read when the version deploys"),
    ("tomorrow", "timeDate", "is not an ISO 8601 date and time"),
])
def test_a_timer_start_event_that_is_no_schedule_is_refused_saying_what_to_write(sg, timer, kind, problem):
    with pytest.raises(InvalidDiagram) as refused:
        deploy(sg, [("nightly.bpmn", scheduled(timer, kind))], "cli:test")
    [found] = refused.value.problems
    assert found.element_id == "Every" and problem in found.reason, found.reason


def test_an_r3_cycle_starts_three_deals_ten_minutes_apart_then_stops(clocked, staff):
    clock, make = clocked
    staff({"sam": ["Sales"]})
    deploy(make(), [("nightly.bpmn", scheduled("R3/PT10M"))], "cli:test")
    assert start_due_deals(make()) == {"started": 0, "failed": 0}
    for minute in (9, 10, 19, 20, 29, 30, 40, 50, 60):
        clock.advance(minutes=minute - (clock.now() - T0).total_seconds() / 60)
        start_due_deals(make())
    started = deals(make())
    assert [d["started_by"] for d in started] == ["timer"] * 3
    assert [(d["started_at"].replace(tzinfo=timezone.utc) - T0).total_seconds() / 60 for d in started] == [10, 20, 30]
    # each waits at its first task for Sales, as a deal a person started would
    assert [t["name"] for t in queries.ready_tasks(make(), instance_id=started[0]["id"])] == ["Check stock"]
    with make().uow(write=False) as uow:
        [event] = uow.session.query(AuditEvent).filter_by(kind="instance_started", instance_id=started[1]["id"]).all()
        assert (event.actor, event.element_id, event.version) == ("timer", "Every", 1)
        assert event.details["timer"] == {"element_id": "Every", "element_name": None, "kind": "timeCycle",
                                          "text": "R3/PT10M", "due_at": "2026-12-01T08:20:00.000000Z",
                                          "process_version_id": event.details["timer"]["process_version_id"]}


def test_a_daily_cron_starts_one_deal_a_day_at_nine_and_the_worker_pass_drives_it(clocked):
    clock, make = clocked
    deploy(make(), [("nightly.bpmn", scheduled("0 0 9 * * ?"))], "cli:test")
    clock.advance(minutes=59)
    assert worker_pass(make(), "w1", T0)["timer_starts"] == {"started": 0, "failed": 0}
    clock.advance(minutes=1)
    assert worker_pass(make(), "w1", T0)["timer_starts"] == {"started": 1, "failed": 0}
    clock.advance(hours=23, minutes=59)
    assert worker_pass(make(), "w1", T0)["timer_starts"]["started"] == 0
    clock.advance(minutes=1)
    assert worker_pass(make(), "w1", T0)["timer_starts"]["started"] == 1
    # a worker down for three days starts one deal for what it missed, as Camunda: not one per missed day
    clock.advance(days=3, hours=2)
    assert start_due_deals(make())["started"] == 1
    assert start_due_deals(make())["started"] == 0
    assert len(deals(make())) == 3


def test_a_date_starts_one_deal_and_a_duration_one_deal_that_long_after_the_deploy(clocked):
    clock, make = clocked
    deploy(make(), [("once.bpmn", scheduled("2026-12-01T08:30:00Z", "timeDate", pid="once"))], "cli:test")
    deploy(make(), [("later.bpmn", scheduled("PT2H", "timeDuration", pid="later"))], "cli:test")
    clock.advance(minutes=30)
    assert start_due_deals(make())["started"] == 1
    clock.advance(hours=2)
    assert start_due_deals(make())["started"] == 1
    clock.advance(days=30)
    assert start_due_deals(make())["started"] == 0
    assert (len(deals(make(), "once")), len(deals(make(), "later"))) == (1, 1)


def test_a_cycle_with_a_start_date_fires_from_that_date(clocked):
    clock, make = clocked
    deploy(make(), [("nightly.bpmn", scheduled("R/2026-12-03T06:00:00Z/P1D"))], "cli:test")
    clock.advance(days=1, hours=22)  # 3 December, 06:00
    assert start_due_deals(make())["started"] == 1
    clock.advance(hours=23, minutes=59)
    assert start_due_deals(make())["started"] == 0
    clock.advance(minutes=1)
    assert start_due_deals(make())["started"] == 1


def test_a_newer_version_replaces_the_older_versions_schedule(clocked):
    clock, make = clocked
    deploy(make(), [("nightly.bpmn", scheduled("R/PT1H"))], "cli:test")
    clock.advance(hours=1)
    assert start_due_deals(make())["started"] == 1
    clock.advance(minutes=30)
    deploy(make(), [("nightly.bpmn", scheduled("R/PT1H", task="Check the stock"))], "cli:test")
    clock.advance(minutes=30)  # v1 would start one now; v2 counts its hour from its own deploy
    assert start_due_deals(make())["started"] == 0
    clock.advance(minutes=30)
    assert start_due_deals(make())["started"] == 1
    # a version without the timer stops the schedule: people start those deals
    deploy(make(), [("nightly.bpmn", scheduled("R/PT1H").replace(
        b"<bpmn:timerEventDefinition><bpmn:timeCycle>R/PT1H</bpmn:timeCycle>\n      </bpmn:timerEventDefinition>", b""))],
        "cli:test")
    clock.advance(days=2)
    assert start_due_deals(make())["started"] == 0
    assert [d["version"] for d in deals(make())] == [1, 2]


def test_a_person_may_still_start_a_deal_of_a_timer_started_process_and_it_runs_at_once(clocked, staff):
    clock, make = clocked
    staff({"sam": ["Sales"]})
    deploy(make(), [("nightly.bpmn", scheduled("R/P1D"))], "cli:test")
    deal = start_instance(make(), "nightly", "sam")
    assert [t["name"] for t in deal["ready_tasks"]] == ["Check stock"]


def test_two_workers_racing_start_one_deal_per_due_time(clocked):
    clock, make = clocked
    deploy(make(), [("nightly.bpmn", scheduled("R/PT10M"))], "cli:test")
    workers = [make(), make(), make()]
    for _ in range(3):
        clock.advance(minutes=10)
        barrier, results = threading.Barrier(len(workers)), []

        def run(sg):
            barrier.wait()
            results.append(start_due_deals(sg)["started"])

        threads = [threading.Thread(target=run, args=(w,)) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == [0] * (len(workers) - 1) + [1]
    assert len(deals(make())) == 3


def test_iso_cycles_count_from_the_deploy_and_skip_what_was_missed():
    deployed = datetime(2026, 1, 15, 12, tzinfo=timezone.utc)
    monthly = schedules.read("timeCycle", "'R/P1M'")
    assert monthly.first_due(deployed) == datetime(2026, 2, 15, 12, tzinfo=timezone.utc)
    assert monthly.next_due(deployed, datetime(2026, 5, 1, tzinfo=timezone.utc)) == datetime(
        2026, 5, 15, 12, tzinfo=timezone.utc)
    r2 = schedules.read("timeCycle", "'R2/PT1H'")
    assert r2.next_due(deployed, r2.first_due(deployed)) == datetime(2026, 1, 15, 14, tzinfo=timezone.utc)
    assert r2.next_due(deployed, datetime(2026, 1, 15, 14, tzinfo=timezone.utc)) is None
    assert r2.next_due(deployed, datetime(2026, 1, 15, 13, 30, tzinfo=timezone.utc)) == datetime(
        2026, 1, 15, 14, tzinfo=timezone.utc)


ORDERS = SHARED / "corpus" / "camunda" / "examples-order-handling.bpmn"


def _work(sg, topic: str, variables: dict) -> dict:
    [task] = fetch_and_lock(sg, "bot", "w1", [{"topic": topic, "lock": timedelta(minutes=1), "variables": None}], 1)
    return complete_external_task(sg, "bot", task["row"]["id"], "w1", variables)


def test_camundas_order_handling_example_starts_an_order_every_five_seconds_and_invoices_it(clocked, staff):
    """examples-order-handling.bpmn, unchanged: its Quartz cron `0/5 0/1 * 1/1 * ?` starts an order
    every five seconds; its worker creates the invoice, and the order ends."""
    clock, make = clocked
    staff({"bot": ["integration"]})
    deploy(make(), [(ORDERS.name, ORDERS.read_bytes())], "cli:test")
    clock.advance(seconds=4)
    assert start_due_deals(make())["started"] == 0
    clock.advance(seconds=1)
    assert start_due_deals(make())["started"] == 1
    clock.advance(seconds=5)
    assert start_due_deals(make())["started"] == 1
    first = _work(make(), "invoiceCreator", {})
    assert (first["status"], first["ended_at_element"]) == ("completed", "EndEvent_00asnpf")
    assert [d["started_by"] for d in deals(make(), "Order_Process")] == ["timer", "timer"]


def test_an_order_whose_invoice_was_created_is_archived(clocked, staff):
    """The worker's invoiceId fires the sub-process's interrupting conditional boundary event
    (`${invoiceId != null}`), as Camunda evaluates conditions when variables are set: archived."""
    clock, make = clocked
    staff({"bot": ["integration"]})
    deploy(make(), [(ORDERS.name, ORDERS.read_bytes())], "cli:test")
    clock.advance(seconds=5)
    start_due_deals(make())
    _work(make(), "invoiceCreator", {"invoiceId": "INV-1"})
    assert _work(make(), "invoiceArchiver", {})["ended_at_element"] == "EndEvent_0q2wrcp"


def test_a_quartz_cron_boundary_timer_reminds_each_weekday_at_nine_while_the_task_is_open(clocked, staff):
    clock, make = clocked
    staff({"sam": ["Sales"]})
    xml = f.definitions('''  <bpmn:process id="chase" isExecutable="true">
    <bpmn:startEvent id="Asked" />
    <bpmn:userTask id="Answer" name="Answer the customer" camunda:candidateGroups="Sales" />
    <bpmn:boundaryEvent id="Remind" attachedToRef="Answer" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:timeCycle>0 0 9 ? * MON-FRI</bpmn:timeCycle></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="Answered" /><bpmn:endEvent id="Reminded" />
    <bpmn:sequenceFlow id="F1" sourceRef="Asked" targetRef="Answer" />
    <bpmn:sequenceFlow id="F2" sourceRef="Answer" targetRef="Answered" />
    <bpmn:sequenceFlow id="F3" sourceRef="Remind" targetRef="Reminded" />
  </bpmn:process>
''', "chase")
    deploy(make(), f.files(("chase.bpmn", xml)), "cli:test")
    iid = start_instance(make(), "chase", "sam")["id"]  # Tuesday 08:00

    def reminders() -> int:
        with make().uow(write=False) as uow:
            return uow.session.query(AuditEvent).filter_by(kind="timer_fired", instance_id=iid).count()

    fired = []
    for hours in (1, 1, 23, 72, 47, 1):  # Tue 09:00, 10:00, Wed 09:00, Sat 09:00, Mon 08:00, Mon 09:00
        clock.advance(hours=hours)
        fire_due_timers(make())
        fired.append(reminders())
    assert fired == [1, 1, 2, 3, 3, 4]  # Saturday's pass fires the overdue Thursday reminder, once
    assert queries.instance(make(), iid)["status"] == "running"
