"""Camunda's and SpiffWorkflow's own files (../shared/corpus/camunda) through `stagegate deploy`:
each deploys, or is refused with every problem at once, each located (file, line, element) and
saying what to write instead; never a traceback or half a deployment. What deploys is run along
its paths. The refusals are pinned in camunda_corpus_refusals.json (the integrated truth of issue
17: JUEL, FEEL, who works a task, decision graphs; external tasks come with their own issue). What
the decision files decide: tests/test_camunda_decisions.py."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.queries import records as queries
from stagegate.cli import main
from tests.conftest import SHARED
from tests.test_deploy import counts
from tests.test_miwg import NOT_A_SENTENCE

CORPUS = SHARED / "corpus" / "camunda"
FILES = sorted(p for p in CORPUS.iterdir() if p.suffix in (".bpmn", ".dmn", ".xml"))
# file -> [[line, element id, reason], ...] of its refusal, deployed alone in this order; None: it deploys
EXPECTED = json.loads((Path(__file__).parent / "camunda_corpus_refusals.json").read_text())
PROBLEM = re.compile(r"^  (?P<file>.+?):(?P<line>\d+): element (?P<el>\S+)(?: \(.*?\))?: (?P<reason>.+)$")


def test_corpus_is_there():
    assert {p.name for p in FILES} == set(EXPECTED), f"Camunda corpus not found or changed at {CORPUS}"


@pytest.fixture
def cli(database_url):
    runner = CliRunner()
    assert runner.invoke(main, ["--database-url", database_url, "init"]).exit_code == 0
    return lambda *args: runner.invoke(main, ["--database-url", database_url, *args])


def _problems(path: Path, output: str) -> list:
    """The refusal's problems as [line, element, reason]; each line must name the file, a line and an element."""
    lines = output.splitlines()
    assert lines[0] == "refused: nothing was deployed:", output[:300]
    found = []
    for ln in lines[1:]:
        m = PROBLEM.match(ln)
        assert m and m["file"] == str(path), f"{path.name}: not located at a line and an element: {ln}"
        assert not NOT_A_SENTENCE.search(ln), f"{path.name}: not a message for a modeller: {ln}"
        found.append([int(m["line"]), m["el"], m["reason"]])
    return found


def test_every_corpus_file_deploys_or_is_refused_with_all_its_problems(cli, sg):
    failures = []
    for path in FILES:
        before = counts(sg)
        result = cli("deploy", str(path))
        if not (result.exception is None or isinstance(result.exception, SystemExit)) or "Traceback" in result.output:
            failures.append(f"{path.name}: escaped {result.exception!r}: {result.output[:300]}")
            continue
        expected = EXPECTED[path.name]
        if result.exit_code == 0:
            if expected is not None:
                failures.append(f"{path.name}: deployed, expected the refusal {expected}")
            continue
        if counts(sg) != before:
            failures.append(f"{path.name}: refused, but something was stored")
        try:
            found = _problems(path, result.output)
        except AssertionError as exc:
            failures.append(str(exc))
            continue
        if found != expected:
            failures.append(f"{path.name}: refused with\n    {found}\n  expected\n    {expected}")
    assert not failures, "\n".join(failures)


def test_the_whole_folder_is_refused_whole_listing_every_files_problems(cli, sg):
    before = counts(sg)
    result = cli("deploy", str(CORPUS))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert counts(sg) == before
    refused_files = {m["file"] for m in map(PROBLEM.match, result.output.splitlines()[1:]) if m}
    # One pass: every file with a problem of its own (not only one the folder's other files solve:
    # a decision or process it names) is named, not only the first one found.
    own = {str(CORPUS / name) for name, problems in EXPECTED.items()
           if any("is not deployed and not in this deployment" not in reason for _, _, reason in problems or [])}
    assert own and own <= refused_files


def _deploy(cli, *names):
    result = cli("deploy", *(str(CORPUS / n) for n in names))
    assert result.exit_code == 0, result.output
    return result.output


def test_camundas_decision_ref_fixture_decides_okay(cli, sg, staff):
    """DmnBusinessRuleTaskTest.testDecisionRef: the decision's single entry lands in `result`."""
    staff({"alice": ["accounting"]})
    out = _deploy(cli, "platform-engine-DmnBusinessRuleTaskTest.testDecisionRef.bpmn20.xml",
                  "platform-engine-DmnBusinessRuleTaskTest.testDecisionOkay.dmn")
    assert "testProcess v1" in out and "testDecision v1 (decision)" in out
    r = cli("start", "testProcess", "--user", "alice", "--business-key", "T-1")
    deal = queries.instance(sg, int(r.output))
    assert (deal["status"], deal["ended_at_element"], deal["data"], deal["business_key"]) == (
        "completed", "end", {"result": "okay"}, "T-1")


def test_spiffs_multi_instance_business_rule_task_decides_each_item(cli, sg, staff, tmp_path):
    """DMNMultiInstance: the sequential business rule task decides each item of `stuff` in turn."""
    staff({"alice": ["accounting"]})
    # SpiffWorkflow's table holds Python (`item['x']`) without declaring it, so alone it is refused as
    # FEEL it is not (camunda_corpus_refusals.json); declared as the Python it is, it decides each item.
    dmn = tmp_path / "spiff-test_integer_decision_multi.dmn"
    dmn.write_bytes((CORPUS / dmn.name).read_bytes().replace(b"<definitions ", b'<definitions expressionLanguage="python" ', 1))
    result = cli("deploy", str(CORPUS / "spiff-DMNMultiInstance.bpmn"), str(dmn))
    assert result.exit_code == 0, result.output
    r = cli("start", "Process_1", "--user", "alice")
    deal = queries.instance(sg, int(r.output))
    assert deal["status"] == "completed"
    # the table: x 3 -> A, 4 -> B, 5 -> C, >= 6 -> D
    assert {k: v["y"] for k, v in deal["data"]["stuff"].items()} == {"A": "A", "B": "B", "C": "C", "D": "D", "E": "D"}


def test_decision_tables_that_deploy_alone(cli):
    for name, decision in (("platform-webapps-assign-approver-groups.dmn", "invoice-assign-approver"),
                           ("platform-invoiceBusinessDecisions.dmn", "invoiceClassification"),
                           ("platform-engine-drdDish.dmn11.xml", "dish-decision")):
        assert f"{decision} v1 (decision)" in _deploy(cli, name)


def test_spiffs_collect_table_reads_type_as_data_and_collects_every_hit(sg):
    """collect_hit.dmn (SpiffWorkflow's CollectHit test): `type` is the deal's data, COLLECT returns every hit
    (as the engine gives a collect today: a list per output column; camunda:mapDecisionResult comes with FEEL)."""
    from engine.bpmn.dmn.decisions import read_draft
    [table] = read_draft((CORPUS / "spiff-collect_hit.dmn").read_bytes(), "spiff-collect_hit.dmn")
    stooges = table.decide(sg.script_engine, {"type": "stooge"})
    assert stooges["outputs"] == {"result": [1, 2, 3, 4], "name": ["Larry", "Mo", "Curly", "Shemp"]}
    assert table.decide(sg.script_engine, {"type": "farmer"})["outputs"]["name"] == ["Elmer Fudd"]
