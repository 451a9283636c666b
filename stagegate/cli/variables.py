"""`--var name=value` and `--vars-file FILE` on `stagegate start` and `complete`: variables as
Camunda's REST API takes them, for diagrams (or steps) without a form."""
from __future__ import annotations

import click

from engine.limits import InputRefused, parse_json
from engine.services.variables import MAX_VARIABLES_BYTES


def variable_options(fn):
    """The two options, added to a command."""
    fn = click.option("--vars-file", type=click.Path(exists=True, dir_okay=False), default=None,
                      help="Variables from a JSON file holding one object.")(fn)
    return click.option("--var", multiple=True, metavar="NAME=VALUE",
                        help="A variable; VALUE is read as JSON (5, true, \"text\", [1,2]) or else as text. "
                             "Repeatable.")(fn)


def with_variables(values: dict, pairs, vars_file: str | None) -> dict:
    """`values` with the file's variables and then the --var ones over them."""
    out = dict(values)
    if vars_file:
        with open(vars_file, "rb") as f:
            raw = f.read(MAX_VARIABLES_BYTES + 1)
        if len(raw) > MAX_VARIABLES_BYTES:
            raise click.UsageError(f"--vars-file {vars_file} is larger than {MAX_VARIABLES_BYTES // 1024} KB")
        try:
            found = parse_json(raw, f"--vars-file {vars_file}")
        except InputRefused as exc:
            raise click.UsageError(str(exc)) from None
        if not isinstance(found, dict):
            raise click.UsageError(f"--vars-file {vars_file} must hold a JSON object, e.g. {{\"amount\": 5}}")
        out.update(found)
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.strip():
            raise click.UsageError(f"--var {pair!r}: write NAME=VALUE, e.g. --var amount=5")
        try:
            value = parse_json(text, f"--var {name}")
        except InputRefused:
            value = text  # plain text needs no quotes: --var creditor=Acme
        out[name.strip()] = value
    return out
