"""Camunda's and SpiffWorkflow's own files (../shared/corpus/camunda) through `stagegate deploy`:
each deploys or is refused with located messages, never a traceback or half a deployment. The
decision files' outcomes are pinned (what they decide: tests/test_camunda_decisions.py)."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from stagegate.cli import main
from tests.conftest import SHARED
from tests.test_deploy import counts
from tests.test_miwg import NOT_A_SENTENCE

CORPUS = SHARED / "corpus" / "camunda"
FILES = sorted(p for p in CORPUS.iterdir() if p.suffix in (".bpmn", ".dmn", ".xml"))
# decision files -> a reason among their problems (None: the file deploys)
DECISIONS = {
    "platform-webapps-assign-approver-groups.dmn": None,
    "platform-engine-DmnBusinessRuleTaskTest.testDecisionOkay.dmn": None,
    "platform-invoiceBusinessDecisions.dmn": None,  # FEEL unary tests and a decision graph
    "examples-dinnerDecisions.dmn": None,
    "platform-engine-drdDish.dmn11.xml": None,
    # its compound COLLECT SUM is read (tests/test_camunda_decisions.py); the variable `input` waits for
    # builtin names as data (issue 17 item 6)
    "platform-engine-DmnDecisionResultCollectSumHitPolicyTest.dmn11.xml": "input expression `input` does not compile",
    # SpiffWorkflow's tables hold Python without declaring it: read as FEEL (DMN's default), refused saying so
    "spiff-test_integer_decision_multi.dmn": "input expression `item['x']` is not FEEL the engine reads at column 6; "
                                             "cells without an expressionLanguage are FEEL (DMN's default)",
    "spiff-collect_hit.dmn": "input expression `type` does not compile",
    "spiff-test_integer_decision.dmn": "input column 'x' has no input expression",
}


def test_corpus_is_there():
    assert {p.name for p in FILES} >= set(DECISIONS), f"Camunda corpus not found or changed at {CORPUS}"


@pytest.fixture
def cli(database_url):
    runner = CliRunner()
    assert runner.invoke(main, ["--database-url", database_url, "init"]).exit_code == 0
    return lambda *args: runner.invoke(main, ["--database-url", database_url, *args])


def test_every_corpus_file_deploys_or_is_refused_cleanly(cli, sg):
    failures = []
    for path in FILES:
        before = counts(sg)
        result = cli("deploy", str(path))
        if not (result.exception is None or isinstance(result.exception, SystemExit)):
            failures.append(f"{path.name}: escaped {result.exception!r}")
            continue
        if "Traceback" in result.output or result.exit_code not in (0, 1):
            failures.append(f"{path.name}: exit {result.exit_code}: {result.output[:300]}")
        elif result.exit_code == 1:
            lines = result.output.splitlines()
            if counts(sg) != before:
                failures.append(f"{path.name}: refused, but something was stored")
            if lines[0] != "refused: nothing was deployed:" or not all(str(path) in ln for ln in lines[1:]):
                failures.append(f"{path.name}: refusal does not name the file: {result.output[:300]}")
            if any(NOT_A_SENTENCE.search(ln) for ln in lines):
                failures.append(f"{path.name}: not a message for a modeller: {result.output[:300]}")
        expected = DECISIONS.get(path.name, "")
        if path.name in DECISIONS and (result.exit_code == 0) != (expected is None):
            failures.append(f"{path.name}: exit {result.exit_code}, expected {expected!r}: {result.output[:300]}")
        elif expected and expected not in result.output:
            failures.append(f"{path.name}: expected {expected!r} in {result.output[:500]}")
    assert not failures, "\n".join(failures)


def test_the_whole_folder_at_once_is_refused_whole(cli, sg):
    before = counts(sg)
    result = cli("deploy", str(CORPUS))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert counts(sg) == before
