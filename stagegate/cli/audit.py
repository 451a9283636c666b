"""`stagegate audit ...`: verify the tamper-evident audit trail, write checkpoints, rotate its key."""
from __future__ import annotations

import sys

import click

from engine.queries import records as queries
from engine.audit.keys import AuditKeyError
from engine.audit.verify import checkpoint_line, describe_break, describe_ok, read_checkpoints
from stagegate.cli.common import main, operator_name, run


@main.group()
def audit():
    """The tamper-evident audit trail."""


def _read_checkpoints(obj, path: str | None, missing_ok: bool = False) -> list[dict]:
    from pathlib import Path

    if path is None or (missing_ok and not Path(path).exists()):
        return []
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditKeyError(f"the checkpoint file {path} cannot be read: {getattr(exc, 'strerror', None) or exc}")
    return read_checkpoints(text, obj.sg.audit_keys, path)


def _report_break(r: dict) -> None:
    where = f"broken at {describe_break(r)}" if r["first_broken_seq"] else f"not ok: {r['reason']}"
    click.echo(f"{where} ({r['events']} events verified before it)")
    sys.exit(1)


@audit.command("verify")
@click.option("--checkpoint", "checkpoint_file", envvar="STAGEGATE_AUDIT_CHECKPOINTS", default=None,
              type=click.Path(dir_okay=False), help="A file of checkpoints (`audit checkpoint --append`): "
                                                    "proves nothing up to each was changed or cut.")
@click.pass_obj
def audit_verify(obj, checkpoint_file):
    """Check the keyed chain (and the checkpoints); exit 1 naming the first broken event."""
    r = run(lambda: queries.verify_audit(obj.sg, _read_checkpoints(obj, checkpoint_file)))
    if not r["ok"]:
        _report_break(r)
    click.echo(describe_ok(r))


@audit.command("checkpoint")
@click.option("--append", "append_to", default=None, type=click.Path(dir_okay=False),
              help="Also append it to this file (kept away from the database), after checking the file's "
                   "earlier checkpoints still hold.")
@click.pass_obj
def audit_checkpoint(obj, append_to):
    """Print a signed checkpoint of the chain's head: event count, last event, head hash, time."""
    r = run(lambda: queries.audit_checkpoint(obj.sg, _read_checkpoints(obj, append_to, missing_ok=True)))
    if not r["ok"]:
        _report_break(r)
    line = checkpoint_line(r["checkpoint"])
    if append_to:
        import os

        with open(append_to, "a") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())
    click.echo(line)


@audit.command("rotate-key")
@click.pass_obj
def audit_rotate_key(obj):
    """Add a new audit key to the key file and sign with it from now on (stop the app first)."""
    from engine.audit import rotate_key

    r = run(lambda: rotate_key(obj.sg, operator_name()))
    click.echo(f"the chain is signed with audit key {r['key_id']} from now on; {r['source']} keeps the older "
               "keys to verify older events. Copy it to every machine that runs Stagegate, then start them.")
