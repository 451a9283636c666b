"""Deploy-time checks on service and send tasks: each needs a topic a worker (or a built-in handler) serves."""
from __future__ import annotations

import re

from engine import domain

MAX_TOPIC = 255


def external_task_problems(el: dict) -> list[str]:
    """Why a service or send task cannot wait for a worker; empty when it can."""
    kind = "service task" if el["type"] == "serviceTask" else "send task"
    topic = el.get("topic")
    problems = []
    if not topic:
        problems.append(
            f"{kind} needs camunda:type=\"external\" and a camunda:topic for a worker to fetch it through "
            f"/engine-rest (or a Java delegate, camunda:class, which becomes the topic); built-in topics: "
            f"{', '.join(sorted(domain.current().service_tasks))}")
    elif len(topic) > MAX_TOPIC:
        problems.append(f"{kind} topic is {len(topic)} characters long; at most {MAX_TOPIC}")
    if el.get("io") and topic in domain.current().service_tasks:
        problems.append(f"camunda:inputOutput on a {kind} the built-in handler '{topic}' runs is not run by the engine "
                        "(only on external ones a worker fetches): set the variables in a Python script task before "
                        "or after it")
    priority = el.get("priority")
    if priority is not None and not re.fullmatch(r"-?\d{1,9}", priority.strip()):
        problems.append(f"camunda:taskPriority '{priority}' is not a whole number; write a number such as 50 "
                        "(expressions are not evaluated for priorities)")
    return problems


def priority_of(el: dict) -> int:
    """The task's camunda:taskPriority as deployed (0 when none is written)."""
    return int(el["priority"]) if el.get("priority") else 0
