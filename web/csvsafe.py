"""CSV cells a spreadsheet will not run: text that starts like a formula is prefixed with a quote.

Exports carry text typed by anyone (a user name tried at sign-in lands in the audit log), and
Excel or LibreOffice would evaluate `=HYPERLINK(...)` or `@SUM(...)` on opening the file. The JSON
exports keep every value exactly as recorded."""
from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value):
    """`value` as a CSV cell: None as empty, formula-like text quoted, numbers as they are."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
