"""Attachments on deals and tasks: upload (size and type checked by the engine), download as a file."""
from __future__ import annotations

import os
from urllib.parse import quote

from flask import Blueprint, Response, current_app, flash, redirect, request, url_for
from flask_login import login_required

from engine.services import attachments as files
from engine.errors import FormInvalid
from stagegate.compose import open_file_store

from .context import current_actor, stagegate
from .guard import engine_errors
from .limits import accepts, size

bp = Blueprint("attachments", __name__)
STORE_KEY = "stagegate_files"


def store():
    """The app's file store (LocalFileStore under ATTACHMENTS_DIR)."""
    return current_app.extensions[STORE_KEY]


def init_app(app) -> None:
    """Open the file store (ATTACHMENTS_DIR, else the instance folder's attachments/); the filters."""
    root = app.config.get("ATTACHMENTS_DIR") or os.environ.get("STAGEGATE_ATTACHMENTS_DIR") or os.path.join(
        app.instance_path, "attachments")
    app.extensions[STORE_KEY] = open_file_store(root)
    app.add_template_filter(filesize)
    app.add_template_global(f"At most {size(files.MAX_BYTES)}; {files.ALLOWED}.", "attachment_rules")


def filesize(n: int) -> str:
    """Bytes as people read them: 812 bytes, 14 KB, 2.5 MB."""
    if n < 1024:
        return f"{n} bytes"
    if n < 1048576:
        return f"{n / 1024:.0f} KB"
    return size(n)


def _back(instance_id: int, task_id: str | None):
    return redirect(url_for("tasks.show", task_id=task_id, _anchor="attachments") if task_id
                    else url_for("deals.show", instance_id=instance_id, _anchor="attachments"))


@bp.route("/deals/<int:instance_id>/attachments", methods=["POST"])
@login_required
@accepts(files.MAX_BYTES + 64 * 1024, f"an attachment may be at most {size(files.MAX_BYTES)}")
@engine_errors
def upload(instance_id):
    """Attach the uploaded file to the deal (or, with task_id, to one of its tasks)."""
    task_id = request.form.get("task_id") or None
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        flash("No file chosen: nothing was attached.", "error")
        return _back(instance_id, task_id)
    try:
        a = files.upload(stagegate(), store(), instance_id, current_actor(), sent.filename, sent.stream, task_id=task_id)
    except FormInvalid as exc:
        flash(f"{sent.filename} was not attached: it {exc.errors.get('file')}.", "error")
        return _back(instance_id, task_id)
    flash(f"Attached {a['file_name']} ({a['size']:,} bytes).", "success")
    return _back(instance_id, task_id)


@bp.route("/attachments/<int:attachment_id>")
@login_required
@engine_errors
def download(attachment_id):
    """The file, as a download (never shown inline, never sniffed as another type)."""
    return file_response(*files.download(stagegate(), store(), attachment_id, current_actor()))


def file_response(row: dict, f) -> Response:
    """An attachment's bytes streamed as a download (the page's link and the JSON API's both)."""
    def body():
        with f:
            while block := f.read(64 * 1024):
                yield block
    ascii_name = row["file_name"].encode("ascii", "replace").decode().replace('"', "'").replace("?", "_")
    return Response(body(), mimetype=row["content_type"], headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(row['file_name'])}",
        "Content-Length": str(row["size"]),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Cache-Control": "private, no-store",
    })
