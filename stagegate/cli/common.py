"""The `stagegate` command group and what its commands share: the database option, the acting
operator, --data values, and how a refusal or a database error ends the command."""
from __future__ import annotations

import getpass
import json
import sys

import click
from sqlalchemy.exc import OperationalError, ProgrammingError

from engine.audit.keys import AuditKeyError
from stagegate.compose import bootstrap
from engine.store.db_roles import RoleSetupFailed
from engine.errors import FormInvalid, InvalidDiagram, StagegateError, StepFailed
from engine.integration_settings import SettingsInvalid
from engine.limits import MAX_ID, InputRefused, parse_json


DATABASE_ID = click.IntRange(0, MAX_ID)  # ids and versions: what the database can hold


def operator_name() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "cli:operator"


def json_arg(text: str | None) -> dict:
    if not text:
        return {}
    try:
        value = parse_json(text, "--data")
    except InputRefused as exc:
        raise click.UsageError(str(exc)) from None
    if not isinstance(value, dict):
        raise click.UsageError("--data must be a JSON object, e.g. '{\"amount\": 5}'")
    return value


def fail(exc: StagegateError) -> None:
    if isinstance(exc, FormInvalid):
        click.echo("refused: the data does not pass the form:", err=True)
        for field, message in exc.errors.items():
            click.echo(f"  {field}: {message}", err=True)
    elif isinstance(exc, InvalidDiagram):
        click.echo("refused: nothing was deployed:", err=True)
        for p in exc.problems:
            click.echo(f"  {p}", err=True)
    elif isinstance(exc, StepFailed):
        click.echo(f"refused: {exc} (incident {exc.incident_id}; nothing was changed)", err=True)
    elif isinstance(exc, (AuditKeyError, RoleSetupFailed, SettingsInvalid)):
        click.echo(f"error: {exc}", err=True)
    else:
        click.echo(f"refused: {exc}", err=True)
    sys.exit(1)


def echo_rows(rows: list[dict], as_json: bool, line) -> None:
    """The rows as indented JSON, or one line of text each (`line(row)`)."""
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        for r in rows:
            click.echo(line(r))


class _Context:
    def __init__(self, url):
        self.url = url
        self._sg = None

    @property
    def sg(self):
        if self._sg is None:
            self._sg = bootstrap(self.url)
        return self._sg


@click.group()
@click.option("--database-url", envvar="STAGEGATE_DATABASE_URL", default=None,
              help="SQLAlchemy URL (default: sqlite file stagegate.db here).")
@click.pass_context
def main(ctx, database_url):
    """Stagegate: run sales processes as executable BPMN."""
    ctx.obj = _Context(database_url)


def run(fn):
    try:
        return fn()
    except StagegateError as exc:
        fail(exc)
    except (OperationalError, ProgrammingError) as exc:
        text = str(exc.orig) if getattr(exc, "orig", None) else str(exc)
        stale = any(s in text for s in ("no such table", "no such column", "does not exist"))
        hint = " (run `stagegate init` first)" if stale else ""
        click.echo(f"error: the database could not be used: {text.splitlines()[0]}{hint}", err=True)
        sys.exit(1)
