"""Camunda's typed variables read into deal data and written back as Camunda types."""
import pytest

from web.camunda_values import VariableRefused, plain_values, typed


def test_typed_variables_as_the_clients_send_them_become_plain_deal_data():
    sent = {
        "name": {"value": "Acme", "type": "String"},
        "units": {"value": 12, "type": "Integer"},
        "revenue": {"value": 9_000_000_000, "type": "Long"},
        "margin": {"value": 31, "type": "Double"},
        "signed": {"value": True, "type": "Boolean"},
        "lines": {"value": '[{"sku": "P-1", "qty": 2}]', "type": "Json"},  # the Node client's json
        "erp": {"value": '{"id": 7}', "type": "Object",
                "valueInfo": {"objectTypeName": "java.util.HashMap", "serializationDataFormat": "application/json"}},
        "due": {"value": "2026-12-01T09:30:00.000+0100", "type": "Date"},
        "nothing": {"value": None, "type": "Null"},
        "untyped": {"value": {"nested": [1, 2]}},  # the Python client sends {"value": ...} only
    }
    assert plain_values(sent) == {
        "name": "Acme", "units": 12, "revenue": 9_000_000_000, "margin": 31.0, "signed": True,
        "lines": [{"sku": "P-1", "qty": 2}], "erp": {"id": 7}, "due": "2026-12-01T09:30:00+01:00",
        "nothing": None, "untyped": {"nested": [1, 2]}}


@pytest.mark.parametrize("variable, said", [
    ({"value": 2**31, "type": "Integer"}, "whole number from"),
    ({"value": "12", "type": "Long"}, "whole number"),
    ({"value": True, "type": "Double"}, "needs a number"),
    ({"value": "yes", "type": "Boolean"}, "true or false"),
    ({"value": "{not json", "type": "Json"}, "not valid JSON"),
    ({"value": "rO0AB", "type": "Object", "valueInfo": {"serializationDataFormat": "application/x-java-serialized-object"}},
     "send it as type Json"),
    ({"value": "01/12/2026", "type": "Date"}, "is not a date and time"),
    ({"value": "aGk=", "type": "Bytes"}, "does not store"),
    ("Acme", "must be an object"),
    ({"value": "nul\x00here", "type": "String"}, "a NUL character, which cannot be stored"),
    ({"value": {"k": ["x\x00"]}}, "a NUL character"),
])
def test_a_variable_that_cannot_be_taken_is_refused_naming_it(variable, said):
    with pytest.raises(VariableRefused) as exc:
        plain_values({"v": variable})
    assert "'v'" in str(exc.value) and said in str(exc.value)


def test_deal_data_go_out_as_camunda_types():
    assert [typed(v)["type"] for v in ("x", 1, 2**40, 1.5, False, None, [1], {"a": 1})] == [
        "String", "Integer", "Long", "Double", "Boolean", "Null", "Json", "Json"]
    assert typed({"a": 1})["value"] == '{"a": 1}'
