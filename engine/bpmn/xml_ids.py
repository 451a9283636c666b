"""Element ids must be XML names (NCName), as the BPMN and DMN schemas declare them.

An id is a key everywhere: in URLs, file names, headers, the audit trail. One with a space, a
colon or a line break would be a different thing in each of them, so deploy refuses it.
"""
from __future__ import annotations

import re

from lxml import etree

from engine.errors import Problem

# XML 1.0 (fifth edition) NameStartChar and NameChar, without ':' (Namespaces in XML: NCName).
_START = ("A-Z_a-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
          "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff")
NCNAME = re.compile(f"[{_START}][{_START}\\-.0-9\u00b7\u0300-\u036f\u203f-\u2040]*")
RULE = ("an id starts with a letter or '_' and holds only letters, digits, '_', '-' and '.' "
        "(no spaces, colons or line breaks)")
_SPEC_NAMESPACES = ("http://www.omg.org/spec/", "https://www.omg.org/spec/")  # BPMN, DMN and their DI


def _shown(ident: str) -> str:
    """The id as text that stays on one line."""
    return ident if ident.isprintable() else ascii(ident)[1:-1]


def lint_ids(root, file_name: str) -> list[Problem]:
    """A problem for every BPMN/DMN element (diagram interchange included) whose id is not an NCName."""
    problems = []
    for el in root.iter():
        ident = el.get("id") if isinstance(el.tag, str) else None
        if not ident or NCNAME.fullmatch(ident):
            continue
        qname = etree.QName(el)
        if not (qname.namespace or "").startswith(_SPEC_NAMESPACES):
            continue  # vendor extensions (camunda:formField ids are variable names) have their own rules
        shown = _shown(ident)
        problems.append(Problem(file_name, f"{qname.localname} id '{shown}' is not a valid XML id: {RULE}",
                                shown, " ".join((el.get("name") or "").split()) or None, el.sourceline))
    return problems
