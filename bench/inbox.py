"""Section 6 of bench.run: the inbox query over many open instances (bulk-seeded, SQLite WAL)."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import text

from engine.services.users import add_user
from bench.common import HEADLINE, Samples, USERS, make_service, ms, perf, rule, summarize


INBOX_USERS = {"sam": ["Sales"], "lena": ["Sales Leadership"], "fiona": ["Finance"], "carl": ["Finance Head"],
               "lou": ["Legal"], "mia": ["Finance", "Sales"]}
# (share of open instances, their ready tasks: element, name, lane role, stage, has an SLA due date)
INBOX_MIX = [
    (0.20, [("Task_Discovery", "Discovery", "sales", "Discovery", False)]),
    (0.15, [("Task_PrepareProposal", "Prepare proposal", "sales", "Proposal", False)]),
    (0.15, [("Task_DiscoveryGateReview", "Discovery gate review", "sales leadership", "Discovery", False)]),
    (0.25, [("Task_SignOffPricing", "Sign off pricing and margin", "finance", "Proposal", True),
            ("Task_SignOffDelivery", "Sign off delivery date", "supply", "Proposal", True),
            ("Task_SignOffQuality", "Sign off specifications", "quality", "Proposal", True)]),
    (0.10, [("Task_ContractReview", "Review contract", "legal", "Negotiation", False)]),
    (0.15, [("Task_LookBack", "Look back", "sales leadership", "Closed", False)]),
]


def seed_open_instances(sg, n: int, history_per_instance: int = 2) -> dict:
    """`n` running opportunities with their open tasks (and some finished ones), written in bulk.

    Rows have the shape the service writes (instances, human_tasks, human_task_roles); going
    through start_instance/complete_task for 100,000 deals would take most of an hour."""
    import random
    import uuid
    from datetime import datetime, timezone

    from sqlalchemy import select

    from engine.store.models import HumanTask, Instance, ProcessVersion, TaskRole
    from engine.store.open_tasks import recount
    rnd = random.Random(9)
    with sg.engine.connect() as conn:
        pv_id, version = conn.execute(select(ProcessVersion.id, ProcessVersion.version)
                                      .where(ProcessVersion.process_id == "opportunity")).first()
        first_id = (conn.execute(text("SELECT coalesce(max(id), 0) FROM instances")).scalar() or 0) + 1
    now = datetime.now(timezone.utc)
    weights = [w for w, _ in INBOX_MIX]
    counts = {"instances": 0, "open tasks": 0, "finished tasks": 0}
    chunk = 10_000
    for start in range(0, n, chunk):
        inst, tasks, roles = [], [], []
        for iid in range(first_id + start, first_id + min(n, start + chunk)):
            created = now - timedelta(days=rnd.uniform(0, 150))
            mix = rnd.choices(INBOX_MIX, weights)[0][1]
            inst.append({"id": iid, "process_version_id": pv_id, "process_id": "opportunity", "version": version,
                         "title": f"Bench deal {iid}", "status": "running", "stage": mix[0][3], "data": {},
                         "state": {}, "started_at": created, "started_by": "sam", "lock_version": 1})
            for h in range(history_per_instance):
                tasks.append({"id": str(uuid.UUID(int=rnd.getrandbits(128))), "instance_id": iid,
                              "process_id": "opportunity", "element_id": "Task_Discovery", "name": "Discovery",
                              "role": "sales", "roles": ["sales"], "stage": "Discovery", "form": [],
                              "state": "completed", "created_at": created, "completed_at": created,
                              "completed_by": "sam", "due_at": None})
            opened = created + timedelta(hours=rnd.uniform(1, 100))
            for element, name, role, stage, sla in mix:
                tid = str(uuid.UUID(int=rnd.getrandbits(128)))
                due = opened + timedelta(days=3) if sla else None
                tasks.append({"id": tid, "instance_id": iid, "process_id": "opportunity", "element_id": element,
                              "name": name, "role": role, "roles": [role], "stage": stage, "form": [],
                              "state": "ready", "created_at": opened, "completed_at": None, "completed_by": None,
                              "due_at": due})
                roles.append({"task_id": tid, "role": role, "process_id": "opportunity", "lane_role": role,
                              "stage": stage, "created_at": opened, "due_at": due, "shared": False})
        with sg.engine.begin() as conn:
            for table, rows in ((Instance.__table__, inst), (HumanTask.__table__, tasks), (TaskRole.__table__, roles)):
                _bulk_insert(conn, table, rows)
        counts["instances"] += len(inst)
        counts["open tasks"] += len(roles)
        counts["finished tasks"] += len(tasks) - len(roles)
    with sg.engine.begin() as conn:
        recount(conn)  # the inbox's counters, as the steps would have kept them
    # No ANALYZE: the app never runs it on SQLite, so the query plans measured are the ones users get.
    return counts


def _bulk_insert(conn, table, rows: list[dict]) -> None:
    """executemany straight on the DB-API cursor, values stored as the SQLAlchemy types store them."""
    from datetime import datetime, timezone
    cols = list(rows[0])

    def value(v):
        if isinstance(v, datetime):  # SQLAlchemy's SQLite DateTime text, in UTC
            return v.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        if isinstance(v, (dict, list)):
            return json.dumps(v)
        return v
    if conn.dialect.name != "sqlite":
        conn.execute(table.insert(), rows)
        return
    sql = f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})"
    conn.connection.driver_connection.executemany(sql, [tuple(value(r[c]) for c in cols) for r in rows])


def run(cfg: dict, tmp: str) -> None:
    from engine.queries.inbox import PAGE, inbox

    n = cfg["inbox_instances"]
    rule(f"6. Inbox query with {n:,} open instances (engine.inbox.inbox, SQLite WAL)")
    sg = make_service(tmp, "inbox.db")
    for user, roles in INBOX_USERS.items():
        if user not in USERS:
            add_user(sg, user, roles, actor="cli:bench")
    t0 = perf()
    seeded = seed_open_instances(sg, n)
    print(f"  seeded {', '.join(f'{v:,} {k}' for k, v in seeded.items())} in {perf() - t0:.1f} s "
          f"(bulk insert; mix: {', '.join(f'{int(w * 100)}% ' + '+'.join(t[2] for t in ts) for w, ts in INBOX_MIX)})")
    print(f"  each call: sign-in user's roles, counts for every filter value, first page ({PAGE} tasks) in the "
          f"chosen order; {cfg['inbox_calls']} calls per row")
    print()
    head = (f"  {'user (roles)':<44} {'view':<22} {'tasks seen':>10} {'p50 ms':>8} {'p95 ms':>8}"
            f" {'CPU p50':>8} {'CPU p95':>8}")
    print(head)
    print("  " + "-" * (len(head) - 2))
    everything, everything_cpu = [], []
    views = [("due date (default)", {}), ("filter stage=Proposal", {"stage": "Proposal"})]
    for user, roles in INBOX_USERS.items():
        for label, kwargs in views:
            for _ in range(3):
                result = inbox(sg, user, **kwargs)
            samples = Samples()
            for _ in range(cfg["inbox_calls"]):
                samples.time(inbox, sg, user, **kwargs)
            st, sc = summarize(samples.wall), summarize(samples.cpu)
            everything += samples.wall
            everything_cpu += samples.cpu
            who = f"{user} ({', '.join(roles)}" + (f"; heads {', '.join(result['headed'])}" if result["headed"] else "") + ")"
            print(f"  {who:<44} {label:<22} {result['counts']['all']:>10,} {ms(st['median']):>8} {ms(st['p95']):>8}"
                  f" {ms(sc['median']):>8} {ms(sc['p95']):>8}")
    sg.dispose()
    st, sc = summarize(everything), summarize(everything_cpu)
    verdict = "under" if st["p95"] < 0.020 else "NOT under"
    line = (f"p50 {ms(st['median'])} ms, p95 {ms(st['p95'])} ms wall ({verdict} the 20 ms target); CPU p50 "
            f"{ms(sc['median'])} ms, p95 {ms(sc['p95'])} ms; {st['n']:,} calls with {n:,} open instances")
    print(f"  all calls: {line}")
    HEADLINE["inbox query"] = line
