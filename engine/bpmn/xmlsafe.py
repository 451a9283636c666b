"""Parse untrusted XML: no DTDs, no entities, no network, bounded size."""
from __future__ import annotations

import codecs
import re

from lxml import etree

from engine.limits import MAX_DIAGRAM_BYTES

MAX_BYTES = MAX_DIAGRAM_BYTES


class UnsafeXml(ValueError):
    """The document was refused; the message says why and where."""

    def __init__(self, message: str, line: int | None = None):
        self.line = line
        super().__init__(message)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
    )


def _as_text(content: bytes) -> str:
    """The document as text for the DOCTYPE check, also when it is UTF-16 or UTF-32 encoded."""
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                       (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if content.startswith(bom):
            return content.decode(codec, "replace")
    for head, codec in ((b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"),
                        (b"\x00<", "utf-16-be"), (b"<\x00", "utf-16-le")):
        if content.startswith(head):
            return content.decode(codec, "replace")
    return content.decode("latin-1")  # every other encoding libxml2 reads keeps ASCII as is


def parse(content: bytes, max_bytes: int = MAX_BYTES) -> etree._Element:
    """Parse a document and return its root element, or raise UnsafeXml."""
    if len(content) > max_bytes:
        raise UnsafeXml(f"file is larger than the {max_bytes / 1048576:.0f} MB limit ({len(content):,} bytes)")
    if not content.strip():
        raise UnsafeXml("file is empty")
    # A DOCTYPE is how entity bombs and external entities get in; diagrams never need one.
    text = _as_text(content).lower()
    if "<!doctype" in text or "<!entity" in text:
        raise UnsafeXml("document type declarations (DOCTYPE/ENTITY) are not allowed")
    try:
        root = etree.fromstring(content, parser=_parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        message = re.sub(r"\s+", " ", re.sub(r"\s*\n\s*(?=,)", "", exc.msg or "")).strip()
        raise UnsafeXml(f"XML syntax error: {message}", line=line) from None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.doctype:
        raise UnsafeXml("document type declarations (DOCTYPE/ENTITY) are not allowed")
    return root
