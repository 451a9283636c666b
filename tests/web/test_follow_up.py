"""camunda:followUpDate: when to look at a task again (ISO text, a duration or JUEL, decided when the
task opens), kept on the task, shown on the task page and in the inbox, returned by both APIs."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.clock import iso
from engine.errors import InvalidDiagram
from engine.queries import records
from engine.services.deployment import deploy
from engine.services.instances import start_instance
from tests import diagram_factory as f

from .conftest import text


def callback(pid: str, follow_up: str, due: str = "P1D") -> bytes:
    """A Quality call-back whose follow-up date is `follow_up`, due `due` after it opens."""
    return f.definitions(f'''  <bpmn:process id="{pid}" name="Call back" isExecutable="true">
    <bpmn:startEvent id="Asked"><bpmn:extensionElements><camunda:formData>
      <camunda:formField id="next_look" type="string" /></camunda:formData></bpmn:extensionElements></bpmn:startEvent>
    <bpmn:userTask id="CallBack" name="Call the customer back" camunda:candidateGroups="Quality"
        camunda:dueDate="{due}" camunda:followUpDate="{follow_up}" />
    <bpmn:endEvent id="Done" />
    <bpmn:sequenceFlow id="F1" sourceRef="Asked" targetRef="CallBack" />
    <bpmn:sequenceFlow id="F2" sourceRef="CallBack" targetRef="Done" />
  </bpmn:process>
''', pid).encode()


def opened(sg, pid: str, **data) -> dict:
    iid = start_instance(sg, pid, "sam", data)["id"]
    [task] = records.ready_tasks(sg, instance_id=iid)
    return task


def test_the_follow_up_date_is_kept_as_written_or_as_its_expression_says(sg, catalog):
    deploy(sg, [("fixed.bpmn", callback("fixed", "2030-01-04T09:00:00Z")),
                ("asked.bpmn", callback("asked", "${next_look}")),
                ("later.bpmn", callback("later", "PT2H"))], "cli:test")
    assert opened(sg, "fixed")["follow_up_at"] == "2030-01-04T09:00:00.000000Z"
    assert opened(sg, "asked", next_look="2029-05-06T07:00:00+02:00")["follow_up_at"] == "2029-05-06T05:00:00.000000Z"
    later = opened(sg, "later")
    assert later["follow_up_at"] == iso(sg.now() + timedelta(hours=2))
    assert later["due_at"] == iso(sg.now() + timedelta(days=1)), "the follow-up date is no deadline"


@pytest.mark.parametrize("written, says", [
    ("someday", "camunda:followUpDate is `someday`, which is not a date and time"),
    ("${next_look.getTime()}", "camunda:followUpDate `${next_look.getTime()}`: JUEL the engine cannot run"),
])
def test_a_follow_up_date_the_engine_cannot_read_is_refused_naming_the_task(sg, catalog, written, says):
    with pytest.raises(InvalidDiagram) as exc:
        deploy(sg, [("bad.bpmn", callback("bad", written))], "cli:test")
    assert any(says in p.reason and p.element_id == "CallBack" for p in exc.value.problems), exc.value.problems


def test_inbox_task_page_and_both_apis_show_the_follow_up(sg, catalog, sign_in, api):
    deploy(sg, [("asked.bpmn", callback("asked", "${next_look}"))], "cli:test")
    task = opened(sg, "asked", next_look=iso(sg.now() + timedelta(hours=1)))
    shown = f"follow up {task['follow_up_at'][:10]} {task['follow_up_at'][11:16]} UTC"
    quinn = sign_in("quinn")
    for page in ("/", "/?view=unclaimed"):  # the indexed inbox and the other views
        row = text(quinn.get(page))
        assert shown in row and "follow up follow up" not in row and "overdue" not in row
    assert ("Follow " + shown[7:]) in text(quinn.get(f"/tasks/{task['id']}"))
    [rest] = api("quinn")("GET", "/engine-rest/task?processDefinitionKey=asked").get_json()
    assert rest["followUp"] == task["follow_up_at"][:23] + "+0000" and rest["due"] != rest["followUp"]
    [row] = api("quinn")("GET", "/api/v1/tasks").get_json()["tasks"]
    assert (row["follow_up_at"], row["follow_up"]) == (task["follow_up_at"], False)

    sg.clock.advance(hours=2)  # past the follow-up date, not yet due: marked
    for page in ("/", "/?view=unclaimed"):
        assert "follow up follow up" in text(quinn.get(page))
    assert api("quinn")("GET", "/api/v1/tasks").get_json()["tasks"][0]["follow_up"] is True
    sg.clock.advance(days=1)  # overdue: that is what the row says
    row = text(quinn.get("/"))
    assert "overdue" in row and "follow up follow up" not in row
