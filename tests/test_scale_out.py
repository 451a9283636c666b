"""Several processes on one database: timer workers (each timer fires once, a killed worker loses
nothing), and 16 API clients racing to complete the same sign-offs through `stagegate serve`.

Real processes throughout (the workers and gunicorn's workers); kept small here, the long
versions are `python -m bench.faults`.
"""
import threading
from collections import Counter

import pytest

from bench import scale


def test_two_workers_fire_200_due_timers_each_exactly_once(database_url, backend):
    count = 200 if backend == "postgres" else 50  # SQLite: one writer at a time, the same guarantee
    deals = scale.due_timers(database_url, count)
    outputs = scale.run_workers(database_url, 2)
    fired = [int(out.split("fired ")[1].split()[0]) for out in outputs]
    assert sum(fired) == count, outputs
    assert scale.timer_states(database_url) == Counter({"fired": count})
    assert scale.fired_events(database_url) == Counter({d: 1 for d in deals}), "one timer_fired event per deal"
    assert scale.consistency(database_url) == []
    # A later pass finds nothing left to fire.
    assert "fired 0 timers" in scale.run_workers(database_url, 1)[0]


def test_a_worker_killed_mid_step_leaves_every_deal_consistent_and_the_timer_fires_later(database_url, backend):
    if backend != "postgres":
        pytest.skip("kill -9 of workers is exercised on PostgreSQL, where workers run side by side")
    deals = scale.due_timers(database_url, 6, linger=0.3)
    kills = scale.kill_mid_step(database_url, rounds=4, linger=0.3)
    assert len(kills) == 4, "each round found a worker inside a step to kill"
    assert [k["problems"] for k in kills] == [[]] * 4
    assert scale.timer_states(database_url)["waiting"] >= 6 - 4, "a killed step committed nothing"
    scale.run_workers(database_url, 2, slow=True)
    assert scale.timer_states(database_url) == Counter({"fired": 6})
    assert scale.fired_events(database_url) == Counter({d: 1 for d in deals})
    assert scale.consistency(database_url) == []


def test_16_clients_racing_on_the_same_sign_offs_complete_each_once(database_url, backend):
    if backend != "postgres":
        pytest.skip("the racing clients run against PostgreSQL (SQLite has one writer at a time anyway)")
    tasks, tokens = scale.sign_off_deals(database_url, deals=3, racers=16)
    with scale.server(database_url, workers=3) as base:
        results = scale.race_sign_offs(base, tasks, tokens)
    assert len(results) == 16 * len(tasks) == 16 * 9
    assert {r["status"] for r in results} <= {200, 409}, [r for r in results if r["status"] not in (200, 409)]
    wins = {t: [r["user"] for r in results if r["task"] == t and r["status"] == 200] for t in tasks}
    assert all(len(w) == 1 for w in wins.values()), wins
    for r in results:
        if r["status"] == 409:
            assert "already completed by" in r["body"]["error"] or "no longer" in r["body"]["error"], r["body"]
    completions = scale.task_completions(database_url)
    assert {t: completions.get(t) for t in tasks} == {t: w for t, w in wins.items()}, \
        "the audit trail and the task table name the same single winner"
    assert scale.consistency(database_url) == []


def test_concurrent_retries_with_one_idempotency_key_start_one_deal(database_url, backend):
    if backend != "postgres":
        pytest.skip("concurrent requests run against PostgreSQL")
    scale.sign_off_deals(database_url, deals=0, racers=0)  # the catalog and sam (Sales)
    token = scale.token_for(database_url, "sam")
    body = {"process_id": "opportunity", "data": scale.PROSPECT}
    answers = []
    with scale.server(database_url, workers=3) as base:
        threads = [threading.Thread(target=lambda: answers.append(scale.call(
            base, "POST", "/api/v1/instances", body, token, {"Idempotency-Key": "webhook-42"}))) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert [status for status, _ in answers] == [201] * 8
    assert len({answer["id"] for _, answer in answers}) == 1, "every retry got the first deal"
    assert scale.deal_count(database_url) == 1
