"""Benchmark: the designer's validation of a small diagram, with and without a 4.5 MB diagram deployed.

Run from the repository root:

    .venv/bin/python -m bench.validation              # a 4.5 MB diagram, 10 validations each
    .venv/bin/python -m bench.validation --mb 1 --runs 5

Two SQLite databases hold the shipped catalog and the demo users; the second also holds one
large, unrelated process (a parallel fan-out of user tasks with forms and documentation, about
--mb megabytes), deployed once. Then, side by side in one run, the designer's validation
(engine.designer.validate, what every edit in the editor calls) of a 2 kB process that names the
qualification table, and of a change to that table, is timed in each database: p50 and p95, the
ratio with / without, and the deployed files each validation parsed. Validation reads only what
the diagram refers to, so the ratio should stay near 1 (it was 25-29 s against well under 1 s).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine.services import designer  # noqa: E402
from engine.bpmn import parsing  # noqa: E402
from stagegate.compose import bootstrap  # noqa: E402
from workflows.demo import DEMO_USERS, DIAGRAMS  # noqa: E402
from engine.services.deployment import collect_files, deploy  # noqa: E402
from engine.store.models import Base  # noqa: E402
from engine.services.users import add_user  # noqa: E402
from tests import diagram_factory  # noqa: E402

PAD = "Check the figures against the signed quote and the plant's capacity plan before answering. " * 4


def big_diagram(megabytes: float) -> bytes:
    """One executable process of about `megabytes`: start, a parallel split to N user tasks (each
    with a form and documentation), a join, an end. Wide rather than long, so the parser takes it."""
    per_task = len(_task(0)) + len("<bpmn:flowNodeRef>Task_0</bpmn:flowNodeRef>")
    n = max(10, int(megabytes * 1024 * 1024 / per_task))
    tasks = "".join(_task(i) for i in range(n))
    refs = "".join(f"<bpmn:flowNodeRef>Task_{i}</bpmn:flowNodeRef>" for i in range(n))
    body = (f'<bpmn:process id="bench_big" name="Big process" isExecutable="true">'
            f'<bpmn:laneSet id="LaneSet_big"><bpmn:lane id="Lane_big" name="Sales">'
            f"<bpmn:flowNodeRef>Begin</bpmn:flowNodeRef><bpmn:flowNodeRef>Split</bpmn:flowNodeRef>{refs}"
            f"<bpmn:flowNodeRef>Join</bpmn:flowNodeRef><bpmn:flowNodeRef>Finish</bpmn:flowNodeRef>"
            f"</bpmn:lane></bpmn:laneSet>"
            f'<bpmn:startEvent id="Begin" /><bpmn:sequenceFlow id="Flow_start" sourceRef="Begin" targetRef="Split" />'
            f'<bpmn:parallelGateway id="Split" /><bpmn:parallelGateway id="Join" />{tasks}'
            f'<bpmn:sequenceFlow id="Flow_end" sourceRef="Join" targetRef="Finish" /><bpmn:endEvent id="Finish" />'
            f"</bpmn:process>\n")
    return diagram_factory.definitions(body, "bench_big").encode()


def _task(i: int) -> str:
    return (f'<bpmn:userTask id="Task_{i}" name="Check item {i}"><bpmn:documentation>{PAD}</bpmn:documentation>'
            "<bpmn:extensionElements><camunda:formData>"
            f'<camunda:formField id="ok_{i}" label="Item {i} fine" type="boolean" />'
            f'<camunda:formField id="note_{i}" label="Note on item {i}" type="string" />'
            "</camunda:formData></bpmn:extensionElements></bpmn:userTask>"
            f'<bpmn:sequenceFlow id="Flow_in_{i}" sourceRef="Split" targetRef="Task_{i}" />'
            f'<bpmn:sequenceFlow id="Flow_out_{i}" sourceRef="Task_{i}" targetRef="Join" />')


def _database(folder: Path, name: str, big: bytes | None):
    sg = bootstrap(f"sqlite:///{folder / name}.db")
    Base.metadata.create_all(sg.engine)
    for user, roles in DEMO_USERS.items():
        add_user(sg, user, roles, actor="cli:bench")
    deploy(sg, collect_files([DIAGRAMS]), actor="cli:bench")
    if big is not None:
        started = time.perf_counter()
        deploy(sg, [("big.bpmn", big)], actor="cli:bench")
        print(f"deployed big.bpmn ({len(big) / 1048576:.1f} MB) in {time.perf_counter() - started:.1f} s")
    return sg


def _timed(sg, file_name: str, content: bytes, runs: int) -> tuple[list[float], int, list]:
    parsed: list[str] = []
    real = parsing.read_document

    def counting(name, data, deployed=False):
        if deployed or name != file_name:
            parsed.append(Path(name).name)
        return real(name, data, deployed)

    parsing.read_document = counting
    try:
        times, problems = [], None
        for _ in range(runs):
            parsed.clear()
            started = time.perf_counter()
            problems = designer.validate(sg, "dora", file_name, content)
            times.append(time.perf_counter() - started)
    finally:
        parsing.read_document = real
    return times, len(sorted(set(parsed))), [p for p in problems if p["severity"] == "error"]


def _p(times: list[float], q: float) -> float:
    return sorted(times)[min(len(times) - 1, int(q * len(times)))] * 1000


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=float, default=4.5, help="size of the unrelated deployed diagram")
    ap.add_argument("--runs", type=int, default=10, help="validations per case and database")
    args = ap.parse_args(argv)
    small = diagram_factory.process("bench_small", decision_ref="qualification").encode()
    table = (DIAGRAMS / "qualification.dmn").read_bytes().replace(b"&gt;= 50<", b"&gt;= 60<")
    cases = [("a 2 kB process naming a table", "small.bpmn", small),
             ("a change to that table", "qualification.dmn", table)]
    with tempfile.TemporaryDirectory() as folder:
        big = big_diagram(args.mb)
        without, with_big = _database(Path(folder), "without", None), _database(Path(folder), "with", big)
        print(f"\nvalidation (engine.designer.validate), {args.runs} runs each; the small process is "
              f"{len(small):,} bytes")
        print(f"{'diagram':<32} {'without big':>14} {'with big':>14} {'ratio p50':>10} {'files read':>11}")
        for label, name, content in cases:
            a, files_a, errors_a = _timed(without, name, content, args.runs)
            b, files_b, errors_b = _timed(with_big, name, content, args.runs)
            assert errors_a == errors_b == [], (errors_a, errors_b)
            print(f"{label:<32} {_p(a, .5):>8.1f} ms p50 {_p(b, .5):>8.1f} ms p50 {_p(b, .5) / _p(a, .5):>9.2f}x "
                  f"{files_a:>5} / {files_b}")
            print(f"{'':<32} {_p(a, .95):>8.1f} ms p95 {_p(b, .95):>8.1f} ms p95")
        without.dispose()
        with_big.dispose()


if __name__ == "__main__":
    main()
