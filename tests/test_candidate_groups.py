"""A user task outside any lane is worked by its camunda:candidateGroups and camunda:candidateUsers;
one whose workers the engine cannot decide is refused at deploy (one naming nobody is open to
anyone: tests/test_open_to_anyone.py)."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from engine.bpmn import diagram_model, lint, xmlsafe
from engine.queries import records as queries
from engine.queries import inbox as inbox_queries
from engine.services.claims import claim_task, reassign_task
from stagegate.cli import main
from engine.services.deployment import deploy
from engine.errors import InvalidDiagram, Refused
from engine.services.instances import complete_task, start_instance
from tests import diagram_factory as f
from tests.conftest import SHARED
from tests.snapshot import stored


def expense(approve: str = 'camunda:candidateGroups="Accounting, Sales"',
            countersign: str = 'camunda:candidateUsers="mary, peter"') -> str:
    """Two user tasks, in no lane, as Camunda Modeler users draw them."""
    return f.definitions(f'''  <bpmn:process id="expense" name="Expense claim" isExecutable="true">
    <bpmn:startEvent id="Claim_In" name="Claim filed" />
    <bpmn:userTask id="Approve" name="Approve the claim" {approve}><bpmn:extensionElements><camunda:formData>
      <camunda:formField id="approved" label="Approved" type="boolean" /></camunda:formData>
    </bpmn:extensionElements></bpmn:userTask>
    <bpmn:userTask id="Countersign" name="Countersign" {countersign} />
    <bpmn:endEvent id="Claim_Out" name="Claim settled" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="Claim_In" targetRef="Approve" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Approve" targetRef="Countersign" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Countersign" targetRef="Claim_Out" />
  </bpmn:process>
''', "expense")


CAST = {"alice": ["Accounting"], "sam": ["Sales"], "fiona": ["Finance"], "mary": ["Finance"], "peter": [],
        "bob": ["Accounting"], "ada": ["Accounting Head"], "lena": ["Sales Leadership"]}


@pytest.fixture
def claims(sg, staff):
    staff(CAST)
    deploy(sg, f.files(("expense.bpmn", expense())), "cli:test")
    iid = start_instance(sg, "expense", "fiona", {})["id"]
    [task] = queries.ready_tasks(sg, instance_id=iid)
    return {"sg": sg, "deal": iid, "approve": task["id"]}


def names_in_inbox(sg, user):
    return [t["name"] for t in inbox_queries.inbox(sg, user)["tasks"]]


def test_a_task_outside_lanes_is_in_the_inbox_of_each_of_its_candidate_groups(claims):
    sg = claims["sg"]
    [task] = queries.ready_tasks(sg, instance_id=claims["deal"])
    assert (task["role"], task["roles"]) == ("accounting", ["accounting", "sales"])
    assert names_in_inbox(sg, "alice") == ["Approve the claim"] and names_in_inbox(sg, "sam") == ["Approve the claim"]
    assert names_in_inbox(sg, "fiona") == []


def test_only_its_candidate_groups_may_claim_or_complete_it(claims):
    sg = claims["sg"]
    before = stored(sg)
    with pytest.raises(Refused, match="fiona may not claim 'Approve the claim': it needs the role 'accounting' or 'sales'"):
        claim_task(sg, claims["approve"], "fiona")
    with pytest.raises(Refused, match="needs the role 'accounting' or 'sales'"):
        complete_task(sg, claims["approve"], "fiona", {"approved": True})
    assert stored(sg) == before
    done = complete_task(sg, claims["approve"], "sam", {"approved": True})
    assert [t["name"] for t in done["ready_tasks"]] == ["Countersign"]


def test_candidate_users_work_a_task_that_names_only_them(claims, database_url):
    sg = claims["sg"]
    complete_task(sg, claims["approve"], "alice", {"approved": True})
    [countersign] = queries.ready_tasks(sg, instance_id=claims["deal"])
    assert names_in_inbox(sg, "mary") == ["Countersign"] and names_in_inbox(sg, "peter") == ["Countersign"]
    assert names_in_inbox(sg, "alice") == [] and names_in_inbox(sg, "fiona") == []
    listed = CliRunner().invoke(main, ["--database-url", database_url, "tasks", "--user", "peter", "--json"])
    assert listed.exit_code == 0 and '"Countersign"' in listed.output
    before = stored(sg)
    with pytest.raises(Refused, match=r"fiona may not claim 'Countersign': it is for its candidate users only "
                                      r"\(mary, peter\)"):
        claim_task(sg, countersign["id"], "fiona")
    assert stored(sg) == before
    claim_task(sg, countersign["id"], "mary")
    assert complete_task(sg, countersign["id"], "mary", {})["status"] == "completed"


def test_the_heads_of_its_candidate_groups_oversee_it(claims):
    sg = claims["sg"]
    assert [(t["name"], t["as_head"]) for t in inbox_queries.inbox(sg, "ada")["tasks"]] == [("Approve the claim", True)]
    reassign_task(sg, claims["approve"], "lena", "bob")  # Sales Leadership heads Sales, a candidate group
    assert queries.task(sg, claims["approve"])["claimed_by"] == "bob"
    with pytest.raises(Refused, match="fiona cannot take 'Approve the claim'"):
        reassign_task(sg, claims["approve"], "ada", "fiona")
    with pytest.raises(Refused, match="needs the role 'accounting'"):
        complete_task(sg, claims["approve"], "ada", {"approved": True})


@pytest.mark.parametrize("approve, reason", [
    ('camunda:candidateGroups="${approverBean.groups()}"', "camunda:candidateGroups `${approverBean.groups()}`: JUEL "
                                                           "the engine cannot run: the method call"),
    ('camunda:candidateUsers="#{owner"', "camunda:candidateUsers `#{owner`: JUEL the engine cannot run: the "
                                         "expression starting at character 1 has no closing `}`"),
])
def test_a_task_whose_workers_cannot_be_decided_is_refused_at_deploy(sg, approve, reason):
    with pytest.raises(InvalidDiagram) as exc:
        deploy(sg, f.files(("expense.bpmn", expense(approve=approve))), "cli:test")
    [problem] = exc.value.problems
    assert (problem.element_id, problem.element_name) == ("Approve", "Approve the claim")
    assert reason in problem.reason


def test_camundas_parallel_user_tasks_deploy_warning_only_where_nobody_is_named_to_work_them(sg):
    """The corpus file's user-task-2 names candidate groups, user-task-3 an assignee; user-task-1 nobody."""
    path = SHARED / "corpus" / "camunda" / "platform-webapps-parallel-user-tasks.bpmn"
    results = deploy(sg, [(path.name, path.read_bytes())], "cli:test")
    assert [(r["element_name"], r["reason"].split(":")[0]) for r in results if r["kind"] == "warning"] == [
        ("user-task-1", "task 'user-task-1' names nobody"),
    ]


def test_the_designer_warns_when_no_user_holds_any_of_the_candidate_groups():
    [model] = diagram_model.bpmn_models(xmlsafe.parse(expense(approve='camunda:candidateGroups="Auditing"').encode()),
                                         "expense.bpmn")
    warnings = {p.element_id: p.reason for p in lint.lint_design(model, {"accounting", "sales"})}
    assert warnings == {"Approve": "user task's candidate groups (auditing) are no role any user holds "
                                   "(known roles: accounting, sales)"}


def test_camunda_attributes_written_in_the_activiti_namespace_are_read_as_camunda(sg):
    path = SHARED / "corpus" / "camunda" / "platform-webapps-user-task-identity-links.bpmn"
    results = deploy(sg, [(path.name, path.read_bytes())], "cli:test")
    warned = {r["element_id"] for r in results if r["kind"] == "warning" and "names nobody" in r["reason"]}
    assert warned == {"UserTask_2"}  # UserTask_1's and UserTask_3's activiti:candidateGroups are their roles
