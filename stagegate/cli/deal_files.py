"""`stagegate comment`, `comments`, `attachments` and `download`: a deal's comments and files from the
command line, as a named user, through the deal page's use cases (the same role checks and audit)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import click

from engine.services import attachments as files
from engine.services import comments as comment_service
from stagegate.cli.common import DATABASE_ID, echo_rows, main, run
from stagegate.compose import open_file_store


def default_store_root() -> Path:
    """Where the web app keeps attachments unless told otherwise: its instance folder's attachments/
    (Flask's instance folder sits beside the web package)."""
    return Path(importlib.util.find_spec("web").origin).resolve().parents[1] / "instance" / "attachments"


@main.command()
@click.argument("instance_id", type=DATABASE_ID)
@click.argument("text")
@click.option("--user", "user_name", required=True, help="Who comments (someone who may see the deal).")
@click.pass_obj
def comment(obj, instance_id, text, user_name):
    """Comment on deal INSTANCE_ID; each @name who may see the deal is notified."""
    def go():
        c = comment_service.add_comment(obj.sg, instance_id, user_name, text)
        told = f"; notified {', '.join(c['mentions'])}" if c["mentions"] else ""
        missed = f"; not notified (no such user, or they may not see the deal): {', '.join(c['not_notified'])}" \
            if c["not_notified"] else ""
        click.echo(f"comment {c['id']} on deal #{instance_id}{told}{missed}")
    run(go)


@main.command()
@click.argument("instance_id", type=DATABASE_ID)
@click.option("--user", "user_name", required=True, help="Whose view (someone who may see the deal).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def comments(obj, instance_id, user_name, as_json):
    """Deal INSTANCE_ID's comments, oldest first."""
    run(lambda: echo_rows(comment_service.comments(obj.sg, instance_id, user_name), as_json,
                          lambda c: f"{c['at']}  {c['author']}: {c['body']}"))


@main.command()
@click.argument("instance_id", type=DATABASE_ID)
@click.option("--user", "user_name", required=True, help="Whose view (someone who may see the deal).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def attachments(obj, instance_id, user_name, as_json):
    """Deal INSTANCE_ID's files (its tasks' too), oldest first; `stagegate download ID` fetches one."""
    run(lambda: echo_rows(files.attachments(obj.sg, instance_id, user_name), as_json,
                          lambda a: f"{a['id']}  {a['file_name']}  {a['size']:,} bytes  {a['content_type']}  "
                                    f"by {a['uploaded_by']} at {a['at']}"))


@main.command()
@click.argument("attachment_id", type=DATABASE_ID)
@click.option("--user", "user_name", required=True, help="Who downloads (audited; an auditor may).")
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The file to write (never overwritten).")
@click.option("--attachments-dir", envvar="STAGEGATE_ATTACHMENTS_DIR", default=None, type=click.Path(file_okay=False),
              help="Where the files are kept (default: the web app's, instance/attachments).")
@click.pass_obj
def download(obj, attachment_id, user_name, output, attachments_dir):
    """Write attachment ATTACHMENT_ID to --output."""
    if output.exists():
        raise click.UsageError(f"{output} exists; choose another --output")

    def go():
        store = open_file_store(str(attachments_dir or default_store_root()))
        row, f = files.download(obj.sg, store, attachment_id, user_name)
        with f, open(output, "xb") as out:
            while block := f.read(64 * 1024):
                out.write(block)
        click.echo(f"wrote {row['file_name']} ({row['size']:,} bytes) to {output}")
    run(go)
