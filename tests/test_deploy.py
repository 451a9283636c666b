"""Deploying BPMN/DMN: versions per process id, all-or-nothing refusals, who may deploy, the CLI."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from stagegate.cli import main
from engine.services.deployment import collect_files, deploy
from engine.errors import InvalidDiagram, Refused
from engine.services.instances import start_instance
from engine.store.models import AuditEvent, DecisionVersion, ProcessVersion, Source
from engine.queries.records import instance, ready_tasks
from tests import diagram_factory as f
from tests.conftest import DIAGRAMS, ROOT
from tests.unstorable import make_unstorable

OPPORTUNITY = (DIAGRAMS / "opportunity.bpmn").read_bytes()
QUALIFICATION = (DIAGRAMS / "qualification.dmn").read_bytes()
START_DATA = {"deal_name": "Acme", "customer": "Acme", "annual_revenue_musd": 120, "industry": "energy",
              "budget_confirmed": True, "deal_value": 500000}
TABLES = (Source, ProcessVersion, DecisionVersion, AuditEvent)


def counts(sg) -> dict:
    with sg.uow(write=False) as uow:
        return {t.__tablename__: uow.session.execute(select(func.count()).select_from(t)).scalar_one() for t in TABLES}


def versions(sg, process_id) -> list[int]:
    with sg.uow(write=False) as uow:
        return list(uow.session.execute(select(ProcessVersion.version).where(ProcessVersion.process_id == process_id)
                                        .order_by(ProcessVersion.version)).scalars())


def refused(sg, files, actor="cli:test"):
    """Deploy must be refused as a whole: the problems, with every table as it was."""
    before = counts(sg)
    with pytest.raises(InvalidDiagram) as info:
        deploy(sg, files, actor)
    assert counts(sg) == before
    assert info.value.problems
    return info.value.problems


def by_id(results) -> dict:
    return {(r["kind"], r["id"]): (r["version"], r["changed"]) for r in results}


# -- versions ------------------------------------------------------------------------------------

def test_shipped_catalog_is_stored_with_its_sources(sg):
    shipped = sorted(p for p in DIAGRAMS.iterdir() if p.suffix in (".bpmn", ".dmn"))
    results = deploy(sg, collect_files([DIAGRAMS]), actor="cli:test", comment="first")
    versions_by_id = by_id(results)
    for key in [("decision", "qualification"), ("process", "opportunity"), ("process", "discount_approval")]:
        assert versions_by_id[key] == (1, True)
    assert {v for v in versions_by_id.values()} == {(1, True)}
    with sg.uow(write=False) as uow:
        stored = {s.file_name: s.content for s in uow.session.execute(select(Source)).scalars()}
        pv = uow.session.execute(select(ProcessVersion).where(ProcessVersion.process_id == "opportunity")).scalar_one()
        pv_row = (pv.deployed_by, pv.comment, len(pv.dmn_sha256s) >= 1)
        kinds = sorted(e.kind for e in uow.session.execute(select(AuditEvent)).scalars())
    assert stored == {p.name: p.read_bytes() for p in shipped}
    assert pv_row == ("cli:test", "first", True)
    assert kinds == sorted("decision_deployed" if k == "decision" else "deployed" for k, _ in versions_by_id)


def test_identical_content_is_not_deployed_twice(sg, catalog):
    before = counts(sg)
    again = deploy(sg, collect_files([DIAGRAMS]), actor="cli:test")
    assert {r["changed"] for r in again} == {False}
    assert all(r["version"] == 1 for r in again)
    assert counts(sg) == before


def test_changed_file_gives_next_version_and_running_deals_keep_theirs(sg, catalog):
    old = start_instance(sg, "opportunity", "sam", START_DATA)
    assert old["version"] == 1
    [task] = ready_tasks(sg, instance_id=old["id"])
    renamed = f'id="{task["element_id"]}" name="{task["name"]} (v2)"'.encode()
    changed = OPPORTUNITY.replace(f'id="{task["element_id"]}" name="{task["name"]}"'.encode(), renamed)
    assert changed != OPPORTUNITY
    results = deploy(sg, [("opportunity.bpmn", changed)], actor="cli:test")
    assert by_id(results)[("process", "opportunity")] == (2, True)
    assert versions(sg, "opportunity") == [1, 2] and versions(sg, "discount_approval") == [1]

    new = start_instance(sg, "opportunity", "sam", START_DATA)
    assert new["version"] == 2 and instance(sg, old["id"])["version"] == 1
    assert [t["name"] for t in ready_tasks(sg, instance_id=old["id"])] == [task["name"]]
    assert [t["name"] for t in ready_tasks(sg, instance_id=new["id"])] == [f"{task['name']} (v2)"]

    # the same change again is not a third version
    assert by_id(deploy(sg, [("opportunity.bpmn", changed)], actor="cli:test"))[("process", "opportunity")] == (2, False)


def test_changed_decision_alone_gives_its_processes_a_new_version(sg, catalog):
    data = {**START_DATA, "annual_revenue_musd": 80}
    before = start_instance(sg, "opportunity", "sam", data)
    assert before["status"] == "running"  # 80 MUSD qualifies under the 50 MUSD floor
    stricter = QUALIFICATION.replace(b"&lt; 50", b"&lt; 100").replace(b"&gt;= 50", b"&gt;= 100")
    results = by_id(deploy(sg, [("qualification.dmn", stricter)], actor="cli:test"))
    assert results[("decision", "qualification")] == (2, True)
    assert results[("process", "opportunity")] == (2, True)
    assert versions(sg, "discount_approval") == [1]  # does not use the table

    after = start_instance(sg, "opportunity", "sam", data)
    assert after["version"] == 2
    assert instance(sg, after["id"])["ended_at_element"] == "EndEvent_Disqualified"
    assert instance(sg, before["id"])["version"] == 1 and instance(sg, before["id"])["status"] == "running"


def test_process_and_decision_from_factory_deploy_together(sg):
    results = by_id(deploy(sg, f.files(("deal.bpmn", f.process(decision_ref="discount")),
                                       ("discount.dmn", f.decision())), actor="cli:test"))
    assert results == {("decision", "discount"): (1, True), ("process", "deal_review"): (1, True)}
    # a later process may use the deployed decision without shipping it again
    assert by_id(deploy(sg, f.files(("other.bpmn", f.process("other", decision_ref="discount"))),
                        actor="cli:test")) == {("process", "other"): (1, True)}


# -- refusals --------------------------------------------------------------------------------------

SUB_WITH_DANGLING_DATA = """
    <bpmn:subProcess id="Sub_Check" name="Check documents">
      <bpmn:startEvent id="Sub_Start" />
      <bpmn:task id="Sub_Read" name="Read contract">
        <bpmn:dataInputAssociation id="Assoc_1"><bpmn:sourceRef>Ref_Contract</bpmn:sourceRef></bpmn:dataInputAssociation>
      </bpmn:task>
      <bpmn:endEvent id="Sub_End" />
      <bpmn:dataObjectReference id="Ref_Contract" dataObjectRef="Contract_Nowhere" />
      <bpmn:sequenceFlow id="Sub_F1" sourceRef="Sub_Start" targetRef="Sub_Read" />
      <bpmn:sequenceFlow id="Sub_F2" sourceRef="Sub_Read" targetRef="Sub_End" />
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="Flow_Sub_End" sourceRef="Sub_Check" targetRef="EndEvent_Yes" />"""

LIBRARY_WITHOUT_DECISION = """  <bpmn:process id="library" name="Old library" isExecutable="false">
    <bpmn:businessRuleTask id="Rule_Legacy" name="Legacy rule" />
  </bpmn:process>
"""
EMPTY_DMN = (f'<definitions xmlns="{f.DMN_NS}" id="Definitions_empty" name="Empty" namespace="http://example.com">'
             "</definitions>")

# name: (files, file named, element id, element name or None, words of the reason)
BROKEN = {
    "xml syntax error": (
        [("deal.bpmn", f.process().replace('<bpmn:endEvent id="EndEvent_No" name="Rejected" />',
                                            '<bpmn:endEvent id="EndEvent_No" name="Rejected">'))],
        "deal.bpmn", None, None, "XML syntax error"),
    "flow to unknown element": (
        [("deal.bpmn", f.process(yes_target="EndEvent_Missing"))],
        "deal.bpmn", "Flow_Yes", None, "target 'EndEvent_Missing' is not an element"),
    "unknown called process": (
        [("deal.bpmn", f.process(called_element="nowhere"))],
        "deal.bpmn", "Task_Call", "Sub process", "called process 'nowhere' is not deployed"),
    "default flow not outgoing": (
        [("deal.bpmn", f.process(default="Flow_Review_Gateway"))],
        "deal.bpmn", "Gateway_Approved", "Approved?", "default flow 'Flow_Review_Gateway' is not an outgoing flow"),
    "missing decision": (
        [("deal.bpmn", f.process(decision_ref="discount_typo")), ("discount.dmn", f.decision())],
        "deal.bpmn", "Task_Rule", "Check rules", "decision 'discount_typo' is not deployed"),
    "gateway without default or conditions": (
        [("deal.bpmn", f.process(no=None))],
        "deal.bpmn", "Gateway_Approved", "Approved?", "neither a default flow nor a condition on every outgoing flow"),
    "condition syntax error": (
        [("deal.bpmn", f.process(yes="approved ==="))],
        "deal.bpmn", "Flow_Yes", None, "condition `approved ===` does not compile: syntax error"),
    "condition refused by sandbox": (
        [("deal.bpmn", f.process(yes="__import__('os').system('id') == 0"))],
        "deal.bpmn", "Flow_Yes", None, "name '__import__' is not allowed"),
    "camunda 7 condition calling a bean": (
        [("deal.bpmn", f.process(yes="${pricing.approved(deal)}"))],
        "deal.bpmn", "Flow_Yes", None, "condition `${pricing.approved(deal)}` does not compile: JUEL the engine cannot "
        "run: the method call `pricing.approved(...)` is not supported (a bean or Spin method"),
    "dmn cell does not compile": (
        [("deal.bpmn", f.process(decision_ref="discount")), ("discount.dmn", f.decision(output="10 +* 2"))],
        "discount.dmn", "discount", "Discount", "output 'discount' `10 +* 2` does not compile"),
    "dmn input cell glued to the column": (
        [("discount.dmn", f.decision(input_entry="in [1000, 2000]"))],
        "discount.dmn", "discount", "Discount", "write it as `? in [1000, 2000]`"),
    "dmn file without a decision": (
        [("discount.dmn", EMPTY_DMN)],
        "discount.dmn", None, None, "no decision in this DMN file"),
    "not a BPMN or DMN document": (
        [("deal.bpmn", '<?xml version="1.0"?><html><body>not a diagram</body></html>')],
        "deal.bpmn", None, None, "not a BPMN 2.0 or DMN document"),
    "no executable process": (
        [("deal.bpmn", f.process(executable=False))],
        "deal.bpmn", None, None, "no executable process in this file"),
    "send task without a worker's topic": (
        [("deal.bpmn", f.process(yes_target="Task_Erp", extra='<bpmn:sendTask id="Task_Erp" name="Book in ERP" />'
                                 '<bpmn:sequenceFlow id="Flow_Erp" sourceRef="Task_Erp" targetRef="EndEvent_Yes" />'))],
        "deal.bpmn", "Task_Erp", "Book in ERP", 'send task needs camunda:type="external" and a camunda:topic'),
    "external service task without a topic": (
        [("deal.bpmn", f.process(yes_target="Task_Erp", extra='<bpmn:serviceTask id="Task_Erp" name="Book in ERP" '
                                 'camunda:type="external" />'
                                 '<bpmn:sequenceFlow id="Flow_Erp" sourceRef="Task_Erp" targetRef="EndEvent_Yes" />'))],
        "deal.bpmn", "Task_Erp", "Book in ERP", 'service task needs camunda:type="external" and a camunda:topic'),
    "task priority as an expression": (
        [("deal.bpmn", f.process(yes_target="Task_Erp", extra='<bpmn:serviceTask id="Task_Erp" name="Book in ERP" '
                                 'camunda:type="external" camunda:topic="erp.book" camunda:taskPriority="${prio}" />'
                                 '<bpmn:sequenceFlow id="Flow_Erp" sourceRef="Task_Erp" targetRef="EndEvent_Yes" />'))],
        "deal.bpmn", "Task_Erp", "Book in ERP", "camunda:taskPriority '${prio}' is not a whole number"),
    "task with two outgoing flows": (
        [("deal.bpmn", f.process(extra='<bpmn:sequenceFlow id="Flow_Shortcut" sourceRef="Task_Review" '
                                       'targetRef="EndEvent_No" />'))],
        "deal.bpmn", "Task_Review", "Review deal", "userTask has 2 outgoing sequence flows"),
    "element id reserved by the engine": (
        [("deal.bpmn", f.process().replace("StartEvent_Deal", "Start"))],
        "deal.bpmn", "Start", "Deal opened", "element id 'Start' is reserved"),
    "duplicate element id": (
        [("deal.bpmn", f.process(extra='<bpmn:task id="Task_Review" name="Second review" />'))],
        "deal.bpmn", "Task_Review", "Second review", "used by more than one element"),
    "process calling itself": (
        [("deal.bpmn", f.process(called_element="deal_review"))],
        "deal.bpmn", "deal_review", "Deal review", "process calls itself (deal_review -> deal_review)"),
    "data object that is not declared (used to hang the parser)": (
        [("deal.bpmn", f.process(yes_target="Sub_Check", extra=SUB_WITH_DANGLING_DATA))],
        "deal.bpmn", "Sub_Read", "Read contract", "data object 'Contract_Nowhere' is not declared"),
    # Ids are XML names (NCName): a line break, a space or a colon would be another id in a URL, a
    # file name or a header.
    "process id with a line break": (
        [("deal.bpmn", f.process().replace('id="deal_review"', 'id="deal&#13;&#10;review"'))],
        "deal.bpmn", "deal\\r\\nreview", "Deal review", "process id 'deal\\r\\nreview' is not a valid XML id: an id "
        "starts with a letter or '_' and holds only letters, digits, '_', '-' and '.'"),
    "element id with a space": (
        [("deal.bpmn", f.process().replace("Task_Review", "Task Review"))],
        "deal.bpmn", "Task Review", "Review deal", "userTask id 'Task Review' is not a valid XML id"),
    "decision id with a colon": (
        [("rates.dmn", f.decision("rates").replace('<decision id="rates"', '<decision id="rates:v2"'))],
        "rates.dmn", "rates:v2", "Discount", "decision id 'rates:v2' is not a valid XML id"),
    "text field longer than the cap": (
        [("deal.bpmn", f.process().replace('<camunda:constraint name="required" />',
                                           '<camunda:constraint name="maxlength" config="100001" />', 1))],
        "deal.bpmn", "StartEvent_Deal", "Deal opened",
        "form field 'deal_name': maxlength '100001' must be a whole number from 1 to 100,000"),
    "rule task without decisionRef in a non-executable process": (
        [("deal.bpmn", f.definitions(f.process(wrap=False) + LIBRARY_WITHOUT_DECISION))],
        "deal.bpmn", "Rule_Legacy", "Legacy rule", "business rule task has no camunda:decisionRef"),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_invalid_diagram_is_refused_whole_with_a_located_message(sg, case):
    files, file_name, element_id, element_name, reason = BROKEN[case]
    deploy(sg, f.files(("existing.bpmn", f.process("existing")), ("rates.dmn", f.decision("rates"))), "cli:test")
    problems = refused(sg, f.files(*files))
    hits = [p for p in problems if reason in p.reason]
    assert hits, f"no problem says {reason!r}: {[str(p) for p in problems]}"
    p = hits[0]
    assert p.file == file_name and p.element_id == element_id
    if element_name:
        assert p.element_name == element_name
    text = str(p)
    assert text.startswith(file_name) and reason in text and (element_id is None or element_id in text)


def test_xml_syntax_error_names_the_line(sg):
    xml = f.process().replace('<bpmn:endEvent id="EndEvent_No" name="Rejected" />',
                              '<bpmn:endEvent id="EndEvent_No" name="Rejected"></bpmn:startEvent>')
    bad_line = next(i for i, line in enumerate(xml.splitlines(), 1) if 'id="EndEvent_No"' in line)
    [problem] = refused(sg, f.files(("deal.bpmn", xml)))
    assert problem.line == bad_line and f"deal.bpmn:{bad_line}: XML syntax error: " in str(problem)
    assert "mismatch" in problem.reason


def test_one_bad_file_keeps_the_good_one_out_too(sg, catalog):
    good = ("good.bpmn", f.process("good_one", name="Good one"))
    bad = ("bad.bpmn", f.process("bad_one", yes="${pricing.approved(deal)}"))
    problems = refused(sg, f.files(good, bad))
    assert [p.file for p in problems] == ["bad.bpmn"]
    assert versions(sg, "good_one") == []
    assert by_id(deploy(sg, f.files(good), actor="cli:test")) == {("process", "good_one"): (1, True)}


def test_same_process_id_in_two_files_is_refused(sg):
    problems = refused(sg, f.files(("a.bpmn", f.process()), ("b.bpmn", f.process())))
    assert "process id 'deal_review' is also defined in a.bpmn" in str(problems[0])


def test_invalid_new_decision_does_not_touch_the_processes_using_it(sg, catalog):
    broken = QUALIFICATION.replace(b"<text>True</text>", b"<text>True +</text>")
    problems = refused(sg, [("qualification.dmn", broken)])
    assert problems[0].element_id == "qualification" and "does not compile" in problems[0].reason
    assert versions(sg, "opportunity") == [1]


def test_unstorable_spec_is_refused_not_crashed(sg, monkeypatch):
    """If the lint lets through a type the serializer cannot write, deploy still refuses cleanly."""
    make_unstorable(sg, monkeypatch, "Task_Erp")
    body = f.process(yes_target="Task_Erp", wrap=False,
                     extra='<bpmn:receiveTask id="Task_Erp" name="Book in ERP" messageRef="Msg_Po" />'
                                                  '<bpmn:sequenceFlow id="Flow_Erp" sourceRef="Task_Erp" '
                                                  'targetRef="EndEvent_Yes" />')
    xml = f.definitions('<bpmn:message id="Msg_Po" name="purchase order" />\n' + body, "deal_review")
    [problem] = refused(sg, f.files(("deal.bpmn", xml)))
    assert problem.element_id == "Task_Erp" and "cannot be stored" in problem.reason


def test_collect_files_reports_missing_paths_and_empty_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidDiagram) as info:
        collect_files([tmp_path / "nope.bpmn", tmp_path / "empty"])
    reasons = {p.file: p.reason for p in info.value.problems}
    assert reasons == {str(tmp_path / "nope.bpmn"): "no such file or folder",
                       str(tmp_path / "empty"): "folder holds no .bpmn, .dmn, .bpmn20.xml or .dmn11.xml file"}


# -- who may deploy --------------------------------------------------------------------------------

def test_sales_user_may_not_deploy_and_nothing_is_stored(sg, staff):
    staff()
    before = counts(sg)
    with pytest.raises(Refused, match="sam may not deploy diagrams.*process designer"):
        deploy(sg, collect_files([DIAGRAMS]), actor="sam")
    assert counts(sg) == before


def test_process_designer_and_operator_may_deploy(sg, staff):
    staff()
    deploy(sg, f.files(("deal.bpmn", f.process())), actor="dora")
    deploy(sg, f.files(("other.bpmn", f.process("other"))), actor="cli:ops")
    with sg.uow(write=False) as uow:
        by = dict(uow.session.execute(select(ProcessVersion.process_id, ProcessVersion.deployed_by)).all())
    assert by == {"deal_review": "dora", "other": "cli:ops"}


# -- command line ----------------------------------------------------------------------------------

def _cli(url, *args):
    result = CliRunner().invoke(main, ["--database-url", url, *args])
    # an escaped exception would show up here instead of SystemExit: that is a traceback for the user
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_cli_deploy_prints_versions_unchanged_and_refusals(database_url, tmp_path):
    assert _cli(database_url, "init").exit_code == 0
    first = _cli(database_url, "deploy", str(DIAGRAMS))
    assert first.exit_code == 0
    lines = first.output.splitlines()
    assert {"qualification v1 (decision)", "opportunity v1", "discount_approval v1"} <= set(lines)
    assert all(re.fullmatch(r"\S+ v1( \(decision\))?", line) for line in lines), lines

    again = _cli(database_url, "deploy", str(DIAGRAMS))
    assert again.exit_code == 0 and len(again.output.splitlines()) == len(lines)
    assert all(line.endswith(" (unchanged)") for line in again.output.splitlines())
    assert "opportunity v1 (unchanged)" in again.output.splitlines()

    changed = tmp_path / "opportunity.bpmn"
    changed.write_bytes(OPPORTUNITY.replace(b'name="Opportunity"', b'name="Opportunity (renamed)"', 1))
    assert "opportunity v2" in _cli(database_url, "deploy", str(changed)).output.splitlines()

    bad = tmp_path / "bad.bpmn"
    bad.write_text(f.process(yes="${pricing.approved(deal)}"))
    refusal = _cli(database_url, "deploy", str(bad), str(DIAGRAMS / "discount_approval.bpmn"))
    assert refusal.exit_code == 1
    assert "refused: nothing was deployed" in refusal.output
    assert f"{bad}:" in refusal.output and "element Flow_Yes" in refusal.output \
        and "the method call `pricing.approved(...)` is not supported" in refusal.output
    assert "Traceback" not in refusal.output

    anyone = tmp_path / "anyone.bpmn"
    anyone.write_text(f.process("anyone", in_lane=False))
    warned = _cli(database_url, "deploy", str(anyone))
    assert warned.exit_code == 0 and "anyone v1" in warned.output
    assert "element Task_Review (Review deal): task 'Review deal' names nobody: any staff member may claim it" \
        in warned.output


def test_cli_refuses_a_sales_user(database_url):
    _cli(database_url, "init")
    _cli(database_url, "user", "add", "sam", "--role", "Sales")
    result = _cli(database_url, "deploy", str(DIAGRAMS), "--user", "sam")
    assert result.exit_code == 1 and "refused: sam may not deploy diagrams" in result.output


def test_cli_in_a_real_process_shows_no_traceback(tmp_path):
    # one backend is enough here: this is about what reaches the terminal
    env = {**os.environ, "STAGEGATE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    run = lambda *args: subprocess.run([sys.executable, "-m", "stagegate.cli", *args], cwd=ROOT, env=env,  # noqa: E731
                                       capture_output=True, text=True, timeout=60)
    assert run("init").returncode == 0
    bad = tmp_path / "deal.bpmn"
    bad.write_text(f.process(yes="__import__('os').system('id')"))
    result = run("deploy", str(bad))
    assert result.returncode == 1
    assert "element Flow_Yes" in result.stderr and "'__import__' is not allowed" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
