"""Diagrams are untrusted XML: no entities, no DTDs, no network, bounded size, bounded time."""
from __future__ import annotations

import concurrent.futures
import time

import pytest

from engine.bpmn import parsing, xmlsafe
from engine.services.deployment import collect_files
from engine.errors import InvalidDiagram, Problem
from tests import diagram_factory as f
from tests.test_deploy import refused

LIMIT_SECONDS = 5
DOCTYPE_REFUSED = "document type declarations (DOCTYPE/ENTITY) are not allowed"

_BODY = ('<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D1">'
         '<bpmn:process id="p" isExecutable="true"><bpmn:documentation>{text}</bpmn:documentation>'
         "</bpmn:process></bpmn:definitions>")
_LAUGHS = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))

ATTACKS = {
    "xxe reading /etc/passwd": '<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' + _BODY.format(text="&xxe;"),
    "xxe in an attribute": '<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                           + _BODY.format(text="x").replace('id="p"', 'id="p" name="&xxe;"'),
    "billion laughs": f'<!DOCTYPE d [<!ENTITY lol0 "lol">{_LAUGHS}]>' + _BODY.format(text="&lol9;"),
    "external DTD": '<!DOCTYPE bpmn:definitions SYSTEM "http://127.0.0.1:9/evil.dtd">' + _BODY.format(text="x"),
    "parameter entity": '<!DOCTYPE d [<!ENTITY % ext SYSTEM "file:///etc/passwd"> %ext;]>' + _BODY.format(text="x"),
}


def within(seconds, fn, *args):
    """fn(*args), failing the test (instead of hanging it) if it takes longer than `seconds`."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(fn, *args).result(timeout=seconds)
    except concurrent.futures.TimeoutError:
        pytest.fail(f"took longer than {seconds} s")
    finally:
        pool.shutdown(wait=False)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
@pytest.mark.parametrize("attack", list(ATTACKS), ids=list(ATTACKS))
def test_entity_and_dtd_attacks_are_refused_quickly(attack, encoding):
    xml = f'<?xml version="1.0" encoding="{encoding.upper()}"?>\n' + ATTACKS[attack]
    started = time.monotonic()
    result = within(LIMIT_SECONDS, parsing.read_document, "evil.bpmn", xml.encode(encoding))
    assert time.monotonic() - started < LIMIT_SECONDS
    assert isinstance(result, Problem)
    assert result.file == "evil.bpmn" and result.reason == DOCTYPE_REFUSED
    assert "root:" not in str(result)  # nothing of the file it pointed at


@pytest.mark.parametrize("attack", ["xxe reading /etc/passwd", "billion laughs"])
def test_attack_deploys_nothing(sg, catalog, attack):
    [problem] = refused(sg, [("evil.bpmn", ATTACKS[attack].encode())])
    assert str(problem) == f"evil.bpmn: {DOCTYPE_REFUSED}"


def test_oversize_content_is_refused_before_parsing(sg):
    filler = "x" * (xmlsafe.MAX_BYTES + 1)
    big = f.process(extra=f"<!-- {filler} -->").encode()
    started = time.monotonic()
    [problem] = refused(sg, [("huge.bpmn", big)])
    assert time.monotonic() - started < LIMIT_SECONDS
    assert problem.file == "huge.bpmn" and "larger than the 5 MB limit" in problem.reason


def test_oversize_file_on_disk_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "huge.bpmn"
    with path.open("wb") as fh:
        fh.truncate(xmlsafe.MAX_BYTES + 1)  # sparse: proves only its size was looked at
    with pytest.raises(InvalidDiagram) as info:
        collect_files([path])
    [problem] = info.value.problems
    assert problem.file == str(path) and problem.reason == "file is larger than the 5 MB limit"


def test_file_just_under_the_limit_is_accepted(sg):
    xml = f.process()
    padding = xmlsafe.MAX_BYTES - len(xml.encode()) - 100
    big = f.process(extra=f"<!-- {'x' * padding} -->").encode()
    assert xmlsafe.MAX_BYTES - 200 < len(big) <= xmlsafe.MAX_BYTES
    from engine.services.deployment import deploy
    assert deploy(sg, [("big.bpmn", big)], actor="cli:test")[0]["version"] == 1


@pytest.mark.parametrize("content, reason", [
    (b"", "file is empty"),
    (b"   \n", "file is empty"),
    (b"<bpmn:definitions", "XML syntax error"),
    (b"\x00\x01\x02 binary", "XML syntax error"),
    ('<?xml version="1.0" encoding="cp037"?><a/>'.encode("cp037"), "XML syntax error"),
], ids=["empty", "blank", "truncated", "binary", "ebcdic"])
def test_unreadable_bytes_are_refused_with_a_reason(content, reason):
    result = within(LIMIT_SECONDS, parsing.read_document, "odd.bpmn", content)
    assert isinstance(result, Problem) and result.reason.startswith(reason) and "\n" not in result.reason


def test_deeply_nested_xml_is_refused_not_recursed(sg):
    deep = f.process(extra="<bpmn:extensionElements>" + "<x:a xmlns:x='urn:x'>" * 5000 + "</x:a>" * 5000
                     + "</bpmn:extensionElements>").encode()
    [problem] = refused(sg, [("deep.bpmn", deep)])
    assert "XML syntax error" in problem.reason and problem.line


def test_dangling_data_object_in_sub_process_does_not_hang_the_parser():
    from tests.test_deploy import SUB_WITH_DANGLING_DATA
    doc = parsing.read_document("deal.bpmn", f.process(yes_target="Sub_Check", extra=SUB_WITH_DANGLING_DATA).encode())
    parsed, problems = within(LIMIT_SECONDS, parsing.parse_batch, [doc])
    assert parsed == [] and [p.element_id for p in problems] == ["Sub_Read"]


def test_very_long_flow_is_refused_with_a_reason_not_a_recursion_error(sg):
    n = 3000
    chain = "".join(f'<bpmn:task id="T{i}" name="Step {i}" /><bpmn:sequenceFlow id="S{i}" sourceRef="T{i}" '
                    f'targetRef="{f"T{i + 1}" if i + 1 < n else "EndEvent_Yes"}" />' for i in range(n))
    files = f.files(("long.bpmn", f.process(yes_target="T0", extra=chain)))
    within(30, parsing.parse_batch, [parsing.read_document(*files[0])])
    problems = refused(sg, files)
    assert "the flow is too long for the engine's parser" in problems[0].reason
    assert "RecursionError" not in str(problems[0])
