"""Fixtures for external tasks: the quote process deployed, a worker user, and Camunda-shaped REST calls."""
import base64

import pytest

from engine.services.deployment import deploy
from engine.services.tokens import create_token
from web import create_app

from .diagrams import DELEGATES, QUOTE


@pytest.fixture
def rest(sg, staff):
    """Factory: a caller of /engine-rest as `name` (HTTP Basic with name and a new API token, as the clients send)."""
    staff({"sam": ["Sales"], "erp": ["Integration"], "erp2": ["Integration"], "fiona": ["Finance"],
           "ada": ["Auditor"]})
    deploy(sg, [("quote.bpmn", QUOTE), ("legacy.bpmn", DELEGATES)], actor="cli:test")
    app = create_app({"STAGEGATE": sg, "TESTING": True, "SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": True})
    client = app.test_client()

    def make(name):
        token = create_token(sg, name, name, "worker")["token"]
        auth = "Basic " + base64.b64encode(f"{name}:{token}".encode()).decode()

        def call(method, path, json=None, headers=None, **kwargs):
            return client.open("/engine-rest" + path, method=method, json=json,
                               headers={"Authorization": auth, **(headers or {})}, **kwargs)
        call.token = token
        return call
    return make


def start_quote(sam, customer="Acme", quantity=12):
    r = sam("POST", "/process-definition/key/erp_quote/start",
            {"variables": {"customer": {"value": customer, "type": "String"},
                           "quantity": {"value": quantity, "type": "Long"}}})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def fetch(worker, worker_id="w1", topic="erp.price_quote", max_tasks=10, lock_ms=60_000, **extra):
    r = worker("POST", "/external-task/fetchAndLock",
               {"workerId": worker_id, "maxTasks": max_tasks,
                "topics": [{"topicName": topic, "lockDuration": lock_ms, **extra}]})
    assert r.status_code == 200, r.get_json()
    return r.get_json()
