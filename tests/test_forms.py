"""Form checking and coercion, field by field, as the diagrams declare them."""
import pytest

from engine.errors import FormInvalid
from engine.bpmn.forms import definition_problems, validate


def field(fid, type_="string", default=None, options=(), **constraints):
    return {"id": fid, "label": fid, "type": type_, "default": default, "constraints": constraints,
            "options": [{"id": o, "name": o.title()} for o in options]}


@pytest.mark.parametrize("f, raw, value", [
    (field("n", "long"), "42", 42),
    (field("n", "long"), " -7 ", -7),
    (field("n", "long"), "1,250,000", 1250000),
    (field("n", "long"), 3.0, 3),
    (field("b", "boolean"), "on", True),
    (field("b", "boolean"), "false", False),
    (field("b", "boolean"), True, True),
    (field("d", "date"), "2027-02-28", "2027-02-28"),
    (field("d", "date"), "28/02/2027", "2027-02-28"),
    (field("e", "enum", options=("go", "kill")), "kill", "kill"),
    (field("s"), 12, "12"),
])
def test_values_are_coerced_to_the_field_type(f, raw, value):
    assert validate([f], {f["id"]: raw}) == {f["id"]: value}


@pytest.mark.parametrize("f, raw, message", [
    (field("n", "long"), "4.5", "must be a whole number"),
    (field("n", "long"), True, "must be a whole number"),
    (field("n", "long"), str(2**64), "must be a whole number"),
    (field("b", "boolean"), "maybe", "must be true or false"),
    (field("d", "date"), "2027-02-30", "must be a date (YYYY-MM-DD)"),
    (field("e", "enum", options=("go", "kill")), "Go", "must be one of: go, kill"),
    (field("s"), ["a"], "must be text"),
    (field("n", "long", min="10"), 9, "must be at least 10"),
    (field("n", "long", max="10"), 11, "must be at most 10"),
    (field("s", minlength="3"), "ab", "must be at least 3 characters"),
    (field("s", maxlength="3"), "abcd", "must be at most 3 characters"),
    (field("d", "date", min="2027-01-01"), "2026-12-31", "must be on or after 2027-01-01"),
    (field("s", required=None), "  ", "is required"),
    (field("s", readonly=None), "x", "is read-only"),
])
def test_bad_values_are_refused_with_a_message_for_the_field(f, raw, message):
    with pytest.raises(FormInvalid) as exc:
        validate([f], {f["id"]: raw})
    assert exc.value.errors == {f["id"]: message}


def test_defaults_fill_missing_values_and_optional_fields_may_be_left_out():
    fields = [field("b", "boolean", default="false"), field("n", "long", default="5"), field("s")]
    assert validate(fields, {}) == {"b": False, "n": 5}
    assert validate(fields, {"s": ""}) == {"b": False, "n": 5, "s": None}


def test_all_problems_are_reported_at_once_and_entered_values_kept():
    fields = [field("n", "long", required=None), field("e", "enum", options=("a",))]
    with pytest.raises(FormInvalid) as exc:
        validate(fields, {"e": "b", "x": 1})
    assert exc.value.errors == {"n": "is required", "e": "must be one of: a", "x": "is not a field of this form"}
    assert exc.value.values == {"e": "b", "x": 1}


def test_malformed_constraint_in_the_diagram_is_reported_not_crashed():
    with pytest.raises(FormInvalid) as exc:
        validate([field("n", "long", min="ten")], {"n": 3})
    assert "malformed" in exc.value.errors["n"]


def test_required_if_makes_a_field_required_by_the_other_answers():
    fields = [field("outcome", "enum", options=("won", "lost"), required=None),
              {**field("loss_reason"), "properties": {"required_if": "outcome == 'lost'"}}]
    assert validate(fields, {"outcome": "won"}) == {"outcome": "won"}
    assert validate(fields, {"outcome": "lost", "loss_reason": "price"}) == {"outcome": "lost", "loss_reason": "price"}
    with pytest.raises(FormInvalid) as exc:
        validate(fields, {"outcome": "lost", "loss_reason": " "})
    assert exc.value.errors == {"loss_reason": "is required when outcome == 'lost'"}


@pytest.mark.parametrize("raw, value", [
    ("1,200.50", 1200.5), (" 1200.5 ", 1200.5), ("-0.25", -0.25), (".5", 0.5), ("3", 3.0),
    ("1,250,000", 1250000.0), ("2.5e3", 2500.0), (7, 7.0), (7.25, 7.25),
])
def test_a_double_is_read_as_people_type_it_and_stored_as_a_number(raw, value):
    [(key, got)] = validate([field("amount", "double")], {"amount": raw}).items()
    assert got == value and isinstance(got, float)


@pytest.mark.parametrize("raw, message", [
    ("1,2", "must be a number (e.g. 1200.50 or 1,200.50)"),  # a decimal comma, not thousands: refused, not 12
    ("12,00.5", "must be a number (e.g. 1200.50 or 1,200.50)"),
    ("ten", "must be a number (e.g. 1200.50 or 1,200.50)"),
    ("nan", "must be a number (e.g. 1200.50 or 1,200.50)"),
    (True, "must be a number (e.g. 1200.50 or 1,200.50)"),
    ("1e400", "is out of range"),
    (float("inf"), "is out of range"),
])
def test_a_double_that_is_not_a_finite_number_is_refused(raw, message):
    with pytest.raises(FormInvalid) as exc:
        validate([field("amount", "double")], {"amount": raw})
    assert exc.value.errors == {"amount": message}


def test_a_double_is_checked_against_its_min_and_max():
    fields = [field("margin", "double", min="0.5", max="99.5")]
    assert validate(fields, {"margin": "99.5"}) == {"margin": 99.5}
    for raw, message in (("0.49", "must be at least 0.5"), ("99.51", "must be at most 99.5")):
        with pytest.raises(FormInvalid) as exc:
            validate(fields, {"margin": raw})
        assert exc.value.errors == {"margin": message}


def test_a_long_refuses_commas_that_do_not_group_thousands():
    with pytest.raises(FormInvalid) as exc:
        validate([field("n", "long")], {"n": "1,2,3"})
    assert exc.value.errors == {"n": "must be a whole number"}


@pytest.mark.parametrize("f, problem", [
    (field("x", "money"), "has type 'money', which the engine does not know; known types: "
                          "string, long, double, boolean, date, enum"),
    (field("x", "enum"), "is an enum without values (add camunda:value elements)"),
    (field("x", "double", max="lots"), "constraint max='lots' must be a number (e.g. 1200.50 or 1,200.50)"),
    (field("x", "date", min="soon"), "constraint min='soon' must be a date (YYYY-MM-DD)"),
    (field("x", maxlength="2.5"), "constraint maxlength='2.5' must be a whole number"),
    (field("x", "long", default="1.5"), "default value '1.5' must be a whole number"),
])
def test_a_field_the_engine_cannot_honour_is_named_for_deploy(f, problem):
    assert definition_problems(f) == [problem]


def test_fields_camunda_modeler_writes_have_no_definition_problem():
    fields = [field("s", maxlength="25", default="x"), field("n", "long", min="3", max="10", default="5"),
              field("d", "date", default="10/01/2013"), field("e", "enum", options=("a", "b"), default="a"),
              field("b", "boolean"), field("m", "double", min="0", max="1e6", default="0.5")]
    assert [definition_problems(f) for f in fields] == [[]] * len(fields)
