"""Diagrams drawn by other tools (the OMG BPMN MIWG test suite) deploy or are refused clearly.

Never a traceback, never a hang, never half a deployment; a refusal names the file and an
element or a reason a modeller can act on. The expected outcome of each file is pinned, so a
change in what the engine accepts is a visible decision.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.bpmn import parsing
from stagegate.cli import main
from engine.services.deployment import collect_files, deploy
from engine.errors import InvalidDiagram, Problem
from tests.conftest import SHARED
from tests.test_deploy import counts
from tests.test_xml_safety import within

CORPUS = SHARED / "corpus" / "miwg"
FILES = sorted(CORPUS.glob("*.bpmn"))

NOT_EXECUTABLE = "no executable process in this file"
# file -> a reason among its problems (None: the file deploys)
EXPECTED = {
    "A.1.0.bpmn": NOT_EXECUTABLE, "A.2.0.bpmn": NOT_EXECUTABLE, "A.2.1.bpmn": NOT_EXECUTABLE,
    "A.3.0.bpmn": NOT_EXECUTABLE, "A.4.0.bpmn": NOT_EXECUTABLE, "A.4.1.bpmn": NOT_EXECUTABLE,
    "B.1.0.bpmn": NOT_EXECUTABLE, "B.2.0.bpmn": NOT_EXECUTABLE,
    "C.1.0.bpmn": None,  # its JUEL translates and its Java delegate is an external task (topic #{archiveService})
    "C.1.1.bpmn": "this is an XPath expression",
    "C.2.0.bpmn": NOT_EXECUTABLE,
    "C.3.0.bpmn": "gateway has neither a default flow nor a condition on every outgoing flow",
    "C.4.0.bpmn": NOT_EXECUTABLE, "C.5.0.bpmn": NOT_EXECUTABLE,
    "C.6.0.bpmn": NOT_EXECUTABLE,
    "C.7.0.bpmn": "business rule task has no camunda:decisionRef (in non-executable process",
    "C.8.0.bpmn": "business rule task has no camunda:decisionRef (in non-executable process",
    "C.8.1.bpmn": "send task needs camunda:type=\"external\" and a camunda:topic",
    "C.9.0.bpmn": "this is a FEEL expression",
    # its receive task deploys (tests/test_messages.py runs it), its send tasks are external tasks and
    # its user task, in no lane and naming nobody, is open to anyone (with a warning)
    "C.9.1.bpmn": None,
    "C.9.2.bpmn": "called process 'requestDocument_en' is not deployed",
}
# Made executable, the same files reach SpiffWorkflow's own parser: still a clean answer.
EXPECTED_EXECUTABLE = {
    "A.1.0.bpmn": None,
    "A.2.0.bpmn": "gateway has neither a default flow nor a condition on every outgoing flow",
    "A.2.1.bpmn": "task has 2 outgoing sequence flows",
    "A.3.0.bpmn": "the boundaryEvent names no message (messageRef)",
    "A.4.0.bpmn": "task has 2 outgoing sequence flows",
    "A.4.1.bpmn": "task has 2 outgoing sequence flows",
    "C.2.0.bpmn": "gateway has neither a default flow nor a condition on every outgoing flow",
    "C.6.0.bpmn": "data association refers to the dataInput 'Travel Request'",
    "C.7.0.bpmn": "service task needs camunda:type=\"external\" and a camunda:topic",
    # Data stores deploy as documentation (with a warning); what else these files hold decides.
    "B.1.0.bpmn": "called process 'global-task' is not deployed",
    "B.2.0.bpmn": "send task needs camunda:type=\"external\" and a camunda:topic",
    "C.4.0.bpmn": "gateway has neither a default flow nor a condition on every outgoing flow",
    "C.5.0.bpmn": "gateway has neither a default flow nor a condition on every outgoing flow",
}
# What an exception's repr or a stack trace looks like, as opposed to a sentence.
NOT_A_SENTENCE = re.compile(r"Traceback|\w+(Error|Exception)\(|<Element |object at 0x|KeyError|\{http")


def test_corpus_is_there():
    assert {p.name for p in FILES} == set(EXPECTED), f"MIWG corpus not found or changed at {CORPUS}"


def _make_executable(content: bytes) -> bytes:
    content = content.replace(b'isExecutable="false"', b'isExecutable="true"')
    return re.sub(rb"(<(?:\w+:)?process )(?![^>]*isExecutable)", rb'\1isExecutable="true" ', content)


def _parse_in_bounded_time(name, content):
    """What deploy does before touching the database, with a time limit: the part that could hang."""
    doc = parsing.read_document(name, content)
    return doc if isinstance(doc, Problem) else parsing.parse_batch([doc])


def _check_outcome(sg, name, content, expected):
    within(20, _parse_in_bounded_time, name, content)
    before = counts(sg)
    try:
        results = deploy(sg, [(name, content)], "cli:test")
    except InvalidDiagram as refusal:
        assert counts(sg) == before, "a refused file changed the database"
        for p in refusal.problems:
            assert p.file == name and p.reason.strip(), p
            assert str(p).startswith(name)
            assert not NOT_A_SENTENCE.search(p.reason), f"not a message for a modeller: {p}"
        reasons = [p.reason for p in refusal.problems]
        assert expected is not None, f"{name} was refused: {reasons}"
        assert any(expected in r for r in reasons), f"{name}: expected {expected!r} among {reasons}"
        return None
    assert expected is None, f"{name} deployed, expected a refusal saying {expected!r}"
    results = [r for r in results if r["kind"] != "warning"]
    assert results and all(r["version"] == 1 and r["changed"] for r in results)
    assert counts(sg)["process_versions"] == before["process_versions"] + len(results)
    return results


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_miwg_file_deploys_or_is_refused_clearly(sg, path):
    _check_outcome(sg, path.name, path.read_bytes(), EXPECTED[path.name])


@pytest.mark.parametrize("name", list(EXPECTED_EXECUTABLE))
def test_miwg_file_made_executable_deploys_or_is_refused_clearly(sg, name):
    results = _check_outcome(sg, name, _make_executable((CORPUS / name).read_bytes()), EXPECTED_EXECUTABLE[name])
    if results:
        assert [r["id"] for r in results] == ["WFP-6-"]


def test_miwg_c9_files_resolve_their_calls_to_each_other(sg):
    """C.9.x call each other's processes: deployed together, those calls are not the problem (C.9.1 has none)."""
    files = collect_files([CORPUS / n for n in ("C.9.0.bpmn", "C.9.1.bpmn", "C.9.2.bpmn")])
    before = counts(sg)
    with pytest.raises(InvalidDiagram) as info:
        deploy(sg, files, "cli:test")
    assert counts(sg) == before
    text = str(info.value)
    assert "is not deployed and not in this deployment" not in text
    assert {Path(p.file).name for p in info.value.problems} == {"C.9.0.bpmn", "C.9.2.bpmn"}


def test_miwg_files_through_the_cli(database_url):
    runner = CliRunner()
    assert runner.invoke(main, ["--database-url", database_url, "init"]).exit_code == 0
    failures = []
    for path in FILES:
        result = runner.invoke(main, ["--database-url", database_url, "deploy", str(path)])
        expected_code = 0 if EXPECTED[path.name] is None else 1
        if not (result.exception is None or isinstance(result.exception, SystemExit)):
            failures.append(f"{path.name}: escaped {result.exception!r}")
        elif "Traceback" in result.output or result.exit_code != expected_code:
            failures.append(f"{path.name}: exit {result.exit_code}: {result.output[:300]}")
        elif expected_code and not ("refused: nothing was deployed" in result.output and str(path) in result.output):
            failures.append(f"{path.name}: refusal does not name the file: {result.output[:300]}")
    assert not failures, "\n".join(failures)
