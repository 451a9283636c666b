"""Schemathesis against the JSON API: generated requests (valid and not) never crash the app, and
every response matches the OpenAPI document (status codes, content type, body schema).
Bounded: a few examples per operation, so it takes seconds.

One default check is left out: "schema-valid data is accepted". Which start and task data is
valid depends on the forms of the deployed diagrams, which no static schema can describe, so a
schema-valid body may rightly get a 400 naming the form field (or 422 for a reused idempotency key).
"""
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from engine.services.tokens import create_token

EXAMPLES = 8


def test_generated_requests_get_documented_answers(app, sg, driver):
    driver.to_sign_offs()  # something to list, see and refuse
    headers = {"Authorization": f"Bearer {create_token(sg, 'fiona', 'fiona', 'fuzz')['token']}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7, [o.label for o in operations]
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate],  # no shrinking: bounded time
                  suppress_health_check=list(HealthCheck))
        def check(case):
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])
        check()
