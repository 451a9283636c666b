"""Parse untrusted XML: no DTDs, no entities, no network, bounded size."""
from __future__ import annotations

from lxml import etree

MAX_BYTES = 5 * 1024 * 1024


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


def parse(content: bytes, max_bytes: int = MAX_BYTES) -> etree._Element:
    """Parse a document and return its root element, or raise UnsafeXml."""
    if len(content) > max_bytes:
        raise UnsafeXml(f"file is {len(content) / 1048576:.1f} MB; the limit is {max_bytes / 1048576:.0f} MB")
    if not content.strip():
        raise UnsafeXml("file is empty")
    # A DOCTYPE is how entity bombs and external entities get in; diagrams never need one.
    head = content[:4096].lstrip().lower()
    if b"<!doctype" in content.lower() or b"<!entity" in head:
        raise UnsafeXml("document type declarations (DOCTYPE/ENTITY) are not allowed")
    try:
        root = etree.fromstring(content, parser=_parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        raise UnsafeXml(f"XML syntax error: {exc.msg}", line=line) from None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.doctype:
        raise UnsafeXml("document type declarations (DOCTYPE/ENTITY) are not allowed")
    return root
