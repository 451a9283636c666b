"""JUEL as Camunda 7 models write it becomes checked Python: each expression of the corpus either
translates and decides as Camunda would, or is refused naming the construct."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from engine import sandbox
from engine.bpmn import juel
from engine.clock import FrozenClock
from engine.clock import clock_in_use
from tests.conftest import SHARED

CORPUS = SHARED / "corpus" / "camunda"
EXPRESSION = re.compile(r"[$#]\{[^}]*\}")


def run(text: str, **data):
    """The value of a JUEL text on `data`, evaluated as the engine does: translated, then in the sandbox."""
    return sandbox.evaluate(juel.translate(text), data, juel.HELPERS)


def corpus_expressions() -> set[str]:
    found = set()
    for path in CORPUS.glob("*.bpmn*"):
        text = path.read_text().replace("&lt;", "<").replace("&gt;", ">").replace("&#39;", "'")
        found.update(EXPRESSION.findall(text))
    return found


@pytest.mark.parametrize("text, data, expected", [
    ("${approved}", {"approved": True}, True),
    ("${!approved}", {"approved": True}, False),
    ("${not approved}", {"approved": False}, True),
    ("#{amount > 1000}", {"amount": 1500}, True),
    ("${invoiceCategory == 'Travel Expenses' && amount < 250}", {"invoiceCategory": "Travel Expenses", "amount": 249},
     True),
    ("${invoiceCategory == 'Travel Expenses' && amount < 250}", {"invoiceCategory": "Misc", "amount": 10}, False),
    ("${vacationApproved == 'true'}", {"vacationApproved": "true"}, True),
    ("${clarified.equals('yes')}", {"clarified": "no"}, False),
    ("${empty reviewer}", {"reviewer": None}, True),
    ("${empty reviewer}", {"reviewer": ""}, True),
    ("${empty reviewer}", {"reviewer": []}, True),
    ("${empty count}", {"count": 0}, False),  # 0 is a value, not empty (unlike Python's `not`)
    ("${not empty reviewer}", {"reviewer": "demo"}, True),
    ("${customer.address.city}", {"customer": {"address": {"city": "Berlin"}}}, "Berlin"),
    ("${items[1]}", {"items": ["a", "b"]}, "b"),
    ("${rates['gold']}", {"rates": {"gold": 3}}, 3),
    ("${big ? 'large' : \"small\"}", {"big": False}, "small"),
    ("${a eq 1 and b ne 2 or c lt 0}", {"a": 1, "b": 3, "c": 5}, True),
    ("${a gt 1 || a ge 1 && a le 0}", {"a": 1}, False),
    ("${7 div 2}", {}, 3.5),
    ("${7 mod 2 + -1}", {}, 0),
    ("${invoiceId != null}", {"invoiceId": None}, False),
    ("${execution.getVariable('amount') * 2}", {"amount": 21}, 42),
    ("${score <= 5}", {"score": 5}, True),
    ("PT${minutes}M", {"minutes": 15}, "PT15M"),
    ("${true}", {}, True),
])
def test_juel_decides_as_camunda(text, data, expected):
    assert run(text, **data) == expected


def test_a_property_is_a_key_of_the_map_never_a_python_attribute():
    assert juel.translate("${x.__class__}") == "x['__class__']"
    with pytest.raises(sandbox.SandboxError):
        run("${x.__class__}", x="text")  # a str has no keys: an error, not its class


def test_the_translation_is_python_the_sandbox_accepts():
    assert juel.translate("${invoiceCategory == 'Travel Expenses' && amount < 250}") == \
        "juel_compare(invoiceCategory, '==', 'Travel Expenses') and juel_compare(amount, '<', 250)"
    # JUEL does not chain comparisons
    assert juel.translate("${a < b == true}") == "juel_compare(juel_compare(a, '<', b), '==', True)"


@pytest.mark.parametrize("text, data, expected", [
    ("${amount > '1000'}", {"amount": 1500}, True),  # EL 1.8.1: a number on one side reads both as numbers
    ("${amount gt '1000'}", {"amount": 999}, False),
    ("${amount < 250}", {"amount": "120"}, True),  # a total sent as text
    ("${amount >= 2.5}", {"amount": "2.5"}, True),
    ("${amount == 1000}", {"amount": 1000.0}, True),
    ("${flag == 'true'}", {"flag": True}, True),  # EL 1.8.2: true/false on one side reads both as true/false
    ("${flag == 'TRUE'}", {"flag": True}, True),
    ("${flag != 'true'}", {"flag": False}, True),
    ("${flag == true}", {"flag": "true"}, True),
    ("${flag eq false}", {"flag": ""}, True),  # the empty text is false
    ("${code == 7}", {"code": "7"}, True),
    ("${code == ''}", {"code": 0}, True),  # the empty text is 0 against a number
    ("${'b' > 'a'}", {}, True),  # text against text: as text
    ("${name == 5}", {"name": None}, False),  # null equals only null
    ("${name == null}", {"name": None}, True),
    ("${name < 5}", {"name": None}, False),  # and orders with nothing
    ("${name >= null}", {"name": None}, True),
    ("${label == 'x'}", {"label": True}, False),  # `x` is not "true"
])
def test_comparisons_coerce_as_juel_does(text, data, expected):
    assert run(text, **data) is expected


@pytest.mark.parametrize("text, data, expected", [
    ("${!approved}", {"approved": "false"}, True),  # EL 1.8.5: the text 'false' is false, not Python's truthy text
    ("${!approved}", {"approved": "TRUE"}, False),
    ("${!reviewer}", {"reviewer": None}, True),  # null is false
    ("${!note}", {"note": ""}, True),
    ("${approved && clarified}", {"approved": "true", "clarified": "false"}, False),
    ("${approved || clarified}", {"approved": "false", "clarified": None}, False),
    ("${urgent ? 'now' : 'later'}", {"urgent": "false"}, "later"),
    ("${urgent ? 'now' : 'later'}", {"urgent": True}, "now"),
])
def test_not_and_or_and_choice_read_their_operands_as_juel_does(text, data, expected):
    assert run(text, **data) == expected


def test_a_number_is_not_true_or_false_in_juel():
    with pytest.raises(sandbox.SandboxError, match=re.escape("JUEL cannot read 1 as true or false")):
        run("${!count}", count=1)


def test_comparisons_joined_by_and_keep_their_plain_translation():
    assert juel.translate("${a > 1 && !(b == 'x')}") == \
        "juel_compare(a, '>', 1) and (not juel_compare(b, '==', 'x'))"


@pytest.mark.parametrize("text, data, message", [
    ("${amount > 1000}", {"amount": "lots"}, "cannot read the text 'lots' as a number to compare it with 1000"),
    ("${amount > 1000}", {"amount": "1000.5"}, "cannot read the text '1000.5' as a number"),  # Long.valueOf
    ("${approved == 1}", {"approved": True}, "cannot compare True with the number 1"),
])
def test_what_juel_cannot_coerce_is_an_error_naming_the_values(text, data, message):
    with pytest.raises(sandbox.SandboxError, match=re.escape(message)):
        run(text, **data)


def test_camundas_date_builtins_read_the_steps_clock():
    with clock_in_use(FrozenClock(datetime(2026, 1, 31, 9, 0, tzinfo=timezone.utc))):
        assert run("${dateTime().plusWeeks(1).toDate()}") == "2026-02-07T09:00:00+00:00"
        assert run("${dateTime().plusMonths(1).toDate()}") == "2026-02-28T09:00:00+00:00"
        assert run("${dateTime().plusDays(2).minusHours(3).toDate()}") == "2026-02-02T06:00:00+00:00"
        assert run("${now()}") == "2026-01-31T09:00:00+00:00"


@pytest.mark.parametrize("text, reason", [
    ('${customer.prop("age").numberValue() < 21}', "the method call `customer.prop(...)` is not supported (a bean or "
                                                   "Spin method"),
    ("#{jobAnnouncementService.findEditor(jobAnnouncementId)}", "`jobAnnouncementService.findEditor(...)`"),
    ("${execution.setVariable('foo', 'bar')}", "`execution` may only be used as execution.getVariable('name')"),
    ("${S(customer).prop('age')}", "`S(...)` is Camunda Spin"),
    ("${JSON(text)}", "`JSON(...)` is Camunda Spin"),
    ("${currentUser()}", "the function `currentUser(...)` is not one the engine offers"),
    ("${amount >}", "expected a value at character 9, found the end of the expression"),
    ("${amount", "has no closing `}`"),
    ("${__class__}", "the variable name `__class__` cannot be used"),
])
def test_what_the_engine_cannot_run_is_refused_naming_it(text, reason):
    with pytest.raises(juel.JuelError) as exc:
        juel.translate(text)
    assert reason in str(exc.value)


def test_every_juel_expression_of_the_corpus_translates_or_is_refused_by_name():
    """All of them: those that translate pass the sandbox's check; the rest name a bean, Spin or execution."""
    translated, refused = [], []
    for text in sorted(corpus_expressions()):
        try:
            sandbox.check(juel.translate(text))
            translated.append(text)
        except juel.JuelError as exc:
            assert re.search(r"bean or Spin method|`execution` may only", str(exc)), (text, str(exc))
            refused.append(text)
    assert len(translated) >= 25 and "${dateTime().plusWeeks(1).toDate()}" in translated
    assert sorted(refused) == sorted([
        '${customer.prop("age").numberValue() < 21}', '${customer.prop("age").numberValue() >= 21}',
        "${execution.setVariable('finished', true)}", "${execution.setVariable('foo', 'bar')}",
        "#{jobAnnouncementService.findEditor(jobAnnouncementId)}",
        "#{jobAnnouncementService.findRequester(jobAnnouncementId)}",
        "#{jobAnnouncementService.notifyAboutPostings(jobAnnouncementId)}"])


def test_comma_lists_keep_expressions_whole():
    assert juel.names("sales, ${approverGroups}, #{a ? 'x,y' : 'z'}") == ["sales", "${approverGroups}",
                                                                            "#{a ? 'x,y' : 'z'}"]
