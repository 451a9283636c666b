"""What Camunda 7 deploys, deployed the same way: legacy namespace, flows without ids, data stores,
form keys, Camunda's file names; and what it runs that we cannot, refused saying what to write."""
from __future__ import annotations

import pytest

from engine.queries import records as queries
from engine.services.deployment import collect_files, deploy
from engine.errors import InvalidDiagram
from engine.services.instances import complete_task, start_instance
from engine.store.models import Timer
from engine.services.timers import fire_due_timers
from tests import diagram_factory as f
from tests.test_deploy import counts, refused
from tests.unstorable import make_unstorable

ACTIVITI = 'xmlns:activiti="http://activiti.org/bpmn"'


def _deployed(sg, *files):
    results = deploy(sg, f.files(*files), "cli:test")
    return [r for r in results if r["kind"] != "warning"], [r for r in results if r["kind"] == "warning"]


def test_a_data_store_deploys_with_a_warning_and_the_process_runs(sg, staff):
    staff({"sam": ["sales"]})
    xml = f.process(extra='<bpmn:dataStoreReference id="Ref_Crm" name="CRM" dataStoreRef="Store_Crm" />').replace(
        "<bpmn:process ", '<bpmn:dataStore id="Store_Crm" name="CRM" />\n<bpmn:process ', 1)
    xml = xml.replace('<bpmn:userTask id="Task_Review" name="Review deal">',
                      '<bpmn:userTask id="Task_Review" name="Review deal"><bpmn:dataInputAssociation id="In_Crm">'
                      '<bpmn:sourceRef>Ref_Crm</bpmn:sourceRef></bpmn:dataInputAssociation>')
    done, warnings = _deployed(sg, ("deal.bpmn", xml))
    assert [(r["kind"], r["id"]) for r in done] == [("process", "deal_review")]
    assert [(w["element_id"], w["file"]) for w in warnings] == [("Store_Crm", "deal.bpmn")]
    assert "data store is documentation to the engine" in warnings[0]["text"] and warnings[0]["line"] == 3
    deal = start_instance(sg, "deal_review", "sam", {"deal_name": "Acme"})
    assert [t["element_id"] for t in deal["ready_tasks"]] == ["Task_Review"]


def test_the_activiti_namespace_is_read_as_camunda(sg):
    xml = f.process(in_lane=False).replace('xmlns:camunda=', f'{ACTIVITI} xmlns:camunda=', 1).replace(
        '<bpmn:userTask id="Task_Review"', '<bpmn:userTask activiti:candidateGroups="Finance" id="Task_Review"')
    xml = xml.replace("camunda:formData", "activiti:formData").replace("camunda:formField", "activiti:formField")
    done, _ = _deployed(sg, ("deal.bpmn", xml))
    assert done[0]["id"] == "deal_review"
    from engine.store.models import ProcessVersion
    with sg.uow(write=False) as uow:
        model = uow.session.query(ProcessVersion).one().model
    assert model["elements"]["Task_Review"]["roles"] == ["finance"]
    assert [fl["id"] for fl in model["elements"]["Task_Review"]["form"]] == ["approved"]


def test_a_sequence_flow_without_an_id_gets_one(sg):
    xml = f.process().replace('<bpmn:sequenceFlow id="Flow_Review_Gateway" ', "<bpmn:sequenceFlow ")
    done, _ = _deployed(sg, ("deal.bpmn", xml))
    assert done[0]["id"] == "deal_review"
    from engine.store.models import ProcessVersion
    with sg.uow(write=False) as uow:
        model = uow.session.query(ProcessVersion).one().model
    assert model["flows"]["Flow_Task_Review_Gateway_Approved"]["target"] == "Gateway_Approved"


def test_a_form_key_deploys_with_a_warning_that_only_form_data_is_shown(sg):
    xml = f.process().replace('<bpmn:userTask id="Task_Review"',
                              '<bpmn:userTask camunda:formKey="embedded:app:forms/review.html" id="Task_Review"')
    _, warnings = _deployed(sg, ("deal.bpmn", xml))
    assert [w["element_id"] for w in warnings] == ["Task_Review"]
    assert warnings[0]["reason"] == ("camunda:formKey `embedded:app:forms/review.html` names a form the engine does "
                                     "not show; people see the camunda:formData fields of this element only")


def test_a_folder_deploy_takes_camundas_file_names(sg, tmp_path):
    (tmp_path / "deal.bpmn20.xml").write_text(f.process(decision_ref="discount"))
    (tmp_path / "discount.dmn11.xml").write_text(f.decision("discount"))
    (tmp_path / "notes.xml").write_text("<notes/>")
    names = sorted(name.rsplit("/", 1)[-1] for name, _ in collect_files([tmp_path]))
    assert names == ["deal.bpmn20.xml", "discount.dmn11.xml"]


@pytest.mark.parametrize("task, reason", [
    ('<bpmn:scriptTask id="Task_Js" name="Tally" scriptFormat="javascript"><bpmn:script>var x = 1;</bpmn:script>'
     "</bpmn:scriptTask>",
     'script is written in javascript, which the engine does not run: rewrite it in Python (scriptFormat="python"), '
     "which runs sandboxed over the process data"),
    ('<bpmn:scriptTask id="Task_Js" name="Tally" scriptFormat="groovy"><bpmn:script>x = 1</bpmn:script>'
     "</bpmn:scriptTask>",
     'script is written in groovy, which the engine does not run: rewrite it in Python (scriptFormat="python")'),
])
def test_scripts_in_other_languages_are_refused_saying_what_to_write(sg, task, reason):
    # Java delegates are external tasks whose topic is the delegate (tests/external/test_external_rest.py).
    xml = f.process(yes_target="Task_Js", extra=task + '<bpmn:sequenceFlow id="Flow_Js" sourceRef="Task_Js" '
                                                       'targetRef="EndEvent_Yes" />')
    [problem] = refused(sg, f.files(("deal.bpmn", xml)))
    assert problem.element_id == "Task_Js" and problem.reason.startswith(reason)


def test_one_refusal_lists_the_problems_of_every_file_and_every_stage(sg, monkeypatch):
    """Unreadable files, ids defined twice, the checks, and what only the parser and the serializer
    find: all in one refusal, so fixing what it lists does not bring up more."""
    make_unstorable(sg, monkeypatch, "Task_Erp")  # a type the checks let through but the serializer cannot write
    body = f.process(yes_target="Task_Erp", wrap=False, yes="${ledger.approve(amount)}",
                     extra='<bpmn:receiveTask id="Task_Erp" name="Book in ERP" messageRef="Msg_Po" />'
                           '<bpmn:sequenceFlow id="Flow_Erp" sourceRef="Task_Erp" targetRef="EndEvent_Yes" />')
    xml = f.definitions('<bpmn:message id="Msg_Po" name="purchase order" />\n' + body, "deal_review")
    files = f.files(("deal.bpmn", xml), ("broken.bpmn", "<bpmn:definitions"),
                    ("rates.dmn", f.decision("rates")), ("rates2.dmn", f.decision("rates")))
    before = counts(sg)
    with pytest.raises(InvalidDiagram) as info:
        deploy(sg, files, "cli:test")
    assert counts(sg) == before
    found = {(p.file, p.element_id): p.reason for p in info.value.problems}
    assert set(found) == {("broken.bpmn", None), ("rates2.dmn", "rates"), ("deal.bpmn", "Flow_Yes"),
                          ("deal.bpmn", "Task_Erp")}, found
    assert "ledger.approve" in found[("deal.bpmn", "Flow_Yes")] and "cannot be stored" in found[("deal.bpmn", "Task_Erp")]


def _process(pid: str, body: str) -> str:
    return f.definitions(f'<bpmn:process id="{pid}" name="{pid}" isExecutable="true">{body}</bpmn:process>', pid)


@pytest.mark.parametrize("sequential", [True, False])
def test_multi_instance_user_tasks_open_one_task_per_item(sg, staff, sequential):
    staff({"alice": ["accounting"]})
    deploy(sg, f.files(("mi.bpmn", _process("mi", f"""
      <bpmn:startEvent id="StartEvent_1" />
      <bpmn:userTask id="Review" name="Review" camunda:candidateGroups="accounting">
        <bpmn:multiInstanceLoopCharacteristics isSequential="{str(sequential).lower()}"
          camunda:collection="reviewers" camunda:elementVariable="reviewer" />
      </bpmn:userTask>
      <bpmn:endEvent id="EndEvent_1" />
      <bpmn:sequenceFlow id="F1" sourceRef="StartEvent_1" targetRef="Review" />
      <bpmn:sequenceFlow id="F2" sourceRef="Review" targetRef="EndEvent_1" />""")), ), "cli:test")
    deal = start_instance(sg, "mi", "alice", {"reviewers": ["ann", "bob", "cy"]})
    open_counts = []
    while deal["ready_tasks"]:
        open_counts.append(len(deal["ready_tasks"]))
        deal = complete_task(sg, deal["ready_tasks"][0]["id"], "alice", {"ok": True})
    assert open_counts == ([1, 1, 1] if sequential else [3, 2, 1]) and deal["status"] == "completed"


def test_a_repeating_cycle_timer_fires_each_time_it_says(sg, staff):
    staff({"alice": ["accounting"]})
    deploy(sg, f.files(("cy.bpmn", _process("cy", """
      <bpmn:startEvent id="StartEvent_1" />
      <bpmn:userTask id="Review" name="Review" camunda:candidateGroups="accounting" />
      <bpmn:boundaryEvent id="Remind" name="Every 10 minutes, 3 times" attachedToRef="Review" cancelActivity="false">
        <bpmn:timerEventDefinition><bpmn:timeCycle>R3/PT10M</bpmn:timeCycle></bpmn:timerEventDefinition>
      </bpmn:boundaryEvent>
      <bpmn:endEvent id="EndEvent_1" />
      <bpmn:endEvent id="EndEvent_Reminded" />
      <bpmn:sequenceFlow id="F1" sourceRef="StartEvent_1" targetRef="Review" />
      <bpmn:sequenceFlow id="F2" sourceRef="Review" targetRef="EndEvent_1" />
      <bpmn:sequenceFlow id="F3" sourceRef="Remind" targetRef="EndEvent_Reminded" />"""))), "cli:test")
    deal = start_instance(sg, "cy", "alice", {})
    due = []
    for _ in range(5):
        sg.clock.advance(minutes=11)
        fire_due_timers(sg)
        with sg.uow(write=False) as uow:
            due.append([t.state for t in uow.session.query(Timer)])
    fired = [e for e in queries.history(sg, deal["id"]) if e["kind"] == "timer_fired"]
    assert len(fired) == 3 and due[-1] == ["fired"], (fired, due)
    assert [t["element_id"] for t in queries.ready_tasks(sg, instance_id=deal["id"])] == ["Review"]


def test_builtin_names_are_usable_as_data_and_never_reach_the_builtins(sg, staff):
    """`type` and `input` are data to a diagram (SpiffWorkflow's collect_hit table reads `type`)."""
    from engine import sandbox
    staff({"sam": ["sales"]})
    table = f.table("kinds", [("R1", ['"gold"'], ['"vip"']), ("R2", ['"silver"'], ['"regular"'])],
                    inputs=[("Type", "type", "string")], outputs=[("tier", "string")])
    deploy(sg, f.files(("kinds.bpmn", f.deciding_process("kinds", "kinds", {"type": "string", "input": "string"})),
                       ("kinds.dmn", table)), "cli:test")
    deal = start_instance(sg, "kinds", "sam", {})
    complete_task(sg, deal["ready_tasks"][0]["id"], "sam", {"type": "gold", "input": "x"})
    assert queries.instance(sg, deal["id"])["data"]["tier"] == "vip"
    assert sandbox.evaluate("type + input", {"type": "gold", "input": "!"}) == "gold!"
    for payload in ("type(1)", "input()", "id(1)"):  # without such data, nothing answers to the name
        with pytest.raises(sandbox.SandboxError, match="is not defined"):
            sandbox.evaluate(payload, {})


_START = '<bpmn:startEvent id="StartEvent_Deal" name="Deal opened">'
_TASK = '<bpmn:userTask id="Task_Review" name="Review deal">'


@pytest.mark.parametrize("where, timer, element, reason", [
    (_START, _START + "<bpmn:timerEventDefinition><bpmn:timeCycle>${cycle}</bpmn:timeCycle></bpmn:timerEventDefinition>",
     "StartEvent_Deal", "timer `${cycle}` is an expression, but a timer start event's schedule is read when the "
     "version deploys, before any deal holds data: write the date, duration or cycle as text (2026-03-01T09:00, "
     "PT10M, R3/PT10M, 0 0 9 * * ?)"),
    (_TASK, '<bpmn:boundaryEvent id="Remind" attachedToRef="Task_Review" cancelActivity="false">'
     "<bpmn:timerEventDefinition><bpmn:timeCycle>0 0 9 * * MON-FRI</bpmn:timeCycle></bpmn:timerEventDefinition>"
     '</bpmn:boundaryEvent><bpmn:endEvent id="EndEvent_Reminded" /><bpmn:sequenceFlow id="Flow_Remind" '
     'sourceRef="Remind" targetRef="EndEvent_Reminded" />' + _TASK,
     "Remind", "timer cycle `0 0 9 * * MON-FRI` is not Quartz cron as Camunda reads it: it must have `?` in exactly "
     "one of day of month and day of week (Quartz's rule: e.g. `0 0 9 * * ?` every day at 9, `0 0 9 ? * MON-FRI` "
     "weekdays at 9)"),
], ids=["timer start event reading data", "Quartz cron that Quartz refuses"])
def test_timers_the_engine_cannot_honour_are_refused_saying_what_to_write(sg, where, timer, element, reason):
    [problem] = refused(sg, f.files(("deal.bpmn", f.process().replace(where, timer))))
    assert (problem.element_id, problem.reason) == (element, reason)


@pytest.mark.parametrize("extension, what", [
    # (the invoice's JavaScript task-listener subset runs: tests/test_camunda_people.py)
    ('<camunda:taskListener event="create"><camunda:script scriptFormat="javascript">task.complete()'
     "</camunda:script></camunda:taskListener>", "task listener on 'create' cannot be translated"),
    ('<camunda:executionListener event="end" class="com.acme.Audit" />',
     "execution listener on 'end' by class `com.acme.Audit` is not run by the engine (it runs no Java, beans or "
     "listener scripts): do the work in a Python script task, or a service task"),
    ('<camunda:inputOutput><camunda:inputParameter name="score"><camunda:script scriptFormat="groovy">5'
     "</camunda:script></camunda:inputParameter></camunda:inputOutput>",
     "camunda:inputParameter 'score' is groovy script, which the engine does not run: write its value as text or "
     "JUEL (`${...}`), or compute it in a Python script task before"),
])
def test_listeners_and_foreign_scripts_on_a_task_are_refused_not_ignored(sg, extension, what):
    xml = f.process().replace('<bpmn:userTask id="Task_Review" name="Review deal"><bpmn:extensionElements>',
                              '<bpmn:userTask id="Task_Review" name="Review deal"><bpmn:extensionElements>' + extension)
    [problem] = refused(sg, f.files(("deal.bpmn", xml)))
    assert problem.element_id == "Task_Review" and problem.reason.startswith(what), problem.reason
    assert "Python" in problem.reason  # what to write instead


def test_listeners_on_the_process_and_on_flows_are_refused_too(sg):
    listener = '<bpmn:extensionElements><camunda:executionListener event="take" class="com.acme.Log" />' \
               '</bpmn:extensionElements>'
    xml = f.process().replace('isExecutable="true">', 'isExecutable="true">' + listener.replace("take", "start"), 1)
    xml = xml.replace('<bpmn:sequenceFlow id="Flow_Review_Gateway" sourceRef="Task_Review" targetRef="Gateway_Approved"'
                      ' />', '<bpmn:sequenceFlow id="Flow_Review_Gateway" sourceRef="Task_Review" '
                      f'targetRef="Gateway_Approved">{listener}</bpmn:sequenceFlow>')
    found = {p.element_id: p.reason.split(" is code")[0] for p in refused(sg, f.files(("deal.bpmn", xml)))}
    assert found == {"deal_review": "camunda:executionListener on start (camunda:class `com.acme.Log`)",
                     "Flow_Review_Gateway": "camunda:executionListener on take (camunda:class `com.acme.Log`)"}


def test_input_and_output_parameters_of_a_script_task(sg, staff):
    """camunda:inputOutput on a script task: its script sees the inputs, the process keeps its own variables of
    those names and gets the outputs (computed after the script ran) and what the script set."""
    staff({"sam": ["Sales"]})
    xml = f.definitions('''  <bpmn:process id="greet" isExecutable="true">
    <bpmn:startEvent id="S" />
    <bpmn:scriptTask id="Greet" scriptFormat="python"><bpmn:extensionElements><camunda:inputOutput>
      <camunda:inputParameter name="greeting">Dear ${name}</camunda:inputParameter>
      <camunda:inputParameter name="name">${name.upper()}</camunda:inputParameter>
      <camunda:outputParameter name="verdict">${shout}</camunda:outputParameter>
    </camunda:inputOutput></bpmn:extensionElements><bpmn:script>shout = greeting + ", to " + name</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="E" />
    <bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="Greet" />
    <bpmn:sequenceFlow id="F2" sourceRef="Greet" targetRef="E" />
  </bpmn:process>
''', "greet")
    with pytest.raises(InvalidDiagram, match=r"the method call `name.upper\(...\)` is not supported"):
        deploy(sg, f.files(("greet.bpmn", xml)), "cli:test")
    deploy(sg, f.files(("greet.bpmn", xml.replace("${name.upper()}", "${'the ' + name}"))), "cli:test")
    iid = start_instance(sg, "greet", "sam", {"name": "Ann"})["id"]
    deal = queries.instance(sg, iid)
    assert (deal["status"], deal["data"]) == ("completed", {"name": "Ann", "shout": "Dear Ann, to the Ann",
                                                                    "verdict": "Dear Ann, to the Ann"})
