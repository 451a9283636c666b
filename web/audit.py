"""Auditor pages: a deal's full history, the audit log with its exports, deployments, the chain check."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template, request, stream_with_context, url_for
from flask_login import login_required

from engine.errors import AuditKeyError, FormInvalid
from engine.limits import MAX_CHECKPOINT_FILE
from engine.queries import audit_log
from engine.queries import records as queries

from . import csvsafe, query
from .context import current_actor, stagegate
from .guard import engine_errors
from .readonly import reads_only

bp = Blueprint("audit", __name__)

FILTERS = audit_log.FILTERS
FAILED_CSV, FAILED_JSON = "#export-failed", "export_failed"  # how a broken export ends (README)


def diff_href(process_id: str, base: int, head: int) -> str:
    """The designer's diff of two versions (a page of the designer, linked by its plain path)."""
    return f"/designer/processes/{process_id}/diff?base={base}&head={head}"


def _filter():
    """The filter the request asks for, and the problems with it (field -> message)."""
    try:
        return audit_log.log_filter(**{k: request.args.get(k) for k in FILTERS}), {}
    except FormInvalid as exc:
        return audit_log.LogFilter(), exc.errors


@bp.route("/audit")
@login_required
@engine_errors
def log():
    """The audit log across all deals: filters, one page of events, links to export the filtered result."""
    sg = stagegate()
    chosen, errors = _filter()
    page = query.page()
    # A filter with a bad value lists nothing rather than everything: the page says what to fix.
    result = None if errors else audit_log.search(sg, current_actor(), chosen, page)

    def link(**changes):
        return url_for("audit.log", **{**chosen.as_args(), **changes})

    return render_template("audit_log.html", result=result, chosen=chosen, errors=errors, link=link,
                           choices=audit_log.choices(sg, current_actor()),
                           raw={k: request.args.get(k, "") for k in FILTERS}), 422 if errors else 200


def _failed(done: int) -> str:
    """What a failed export ends with (the cause goes to the server's log, not to the file)."""
    current_app.logger.exception("audit export failed after %d events", done)
    return (f"the export failed after {done} events, while reading from the database; this file is incomplete: "
            "export again")


def _csv_lines(rows):
    """CSV text in chunks; an export that fails part-way ends with a row `#export-failed,<why>`."""
    buffer = io.StringIO()
    out = csv.writer(buffer)
    out.writerow(audit_log.EXPORT_COLUMNS)
    done = 0
    try:
        for row in rows:
            out.writerow([_cell(row[c]) for c in audit_log.EXPORT_COLUMNS])
            done += 1
            if buffer.tell() > 64_000:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    except Exception:  # noqa: BLE001 - the rows sent so far cannot be taken back: say the file is broken
        out.writerow([FAILED_CSV, _failed(done)])
    yield buffer.getvalue()


def _cell(value):
    if isinstance(value, (dict, list)):
        value = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return csvsafe.cell(value)


def _json_chunks(rows):
    """A JSON array in chunks; an export that fails part-way ends with {"export_failed": why} and
    no closing bracket, so a JSON reader refuses the file instead of taking it for complete."""
    yield "["
    done = 0
    try:
        for row in rows:
            yield ("," if done else "") + "\n" + json.dumps(row, sort_keys=True, ensure_ascii=False)
            done += 1
    except Exception:  # noqa: BLE001 - see _csv_lines
        yield ("," if done else "") + "\n" + json.dumps({FAILED_JSON: _failed(done)}) + "\n"
        return
    yield "\n]\n"


def _export(render, mimetype: str, suffix: str) -> Response:
    """The filtered events, rendered chunk by chunk as they are read; a bad filter exports nothing (422)."""
    chosen, errors = _filter()
    if errors:
        message = "; ".join(f"{k}: {v}" for k, v in errors.items())
        return Response(f"nothing exported: {message}\n", status=422, mimetype="text/plain")
    rows = audit_log.export(stagegate(), current_actor(), chosen)  # refuses a non-auditor now, before streaming
    response = Response(stream_with_context(render(rows)), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="stagegate-audit.{suffix}"'
    return response


@bp.route("/audit/export.csv")
@login_required
@engine_errors
def export_csv():
    """The filtered events as CSV, streamed (details as JSON text)."""
    return _export(_csv_lines, "text/csv", "csv")


@bp.route("/audit/export.json")
@login_required
@engine_errors
def export_json():
    """The filtered events as a JSON array, streamed."""
    return _export(_json_chunks, "application/json", "json")


@bp.route("/audit/deals/<int:instance_id>")
@login_required
@engine_errors
def deal(instance_id):
    """One deal's full history: every event with actor, time and data, and its path on the diagram."""
    return render_template("audit_deal.html", deal=audit_log.deal_history(stagegate(), instance_id, current_actor()))


@bp.route("/audit/deployments")
@login_required
@engine_errors
def deployments():
    """Who deployed which version of which process and decision table, when, with links to the diffs."""
    return render_template("audit_deployments.html", deployed=audit_log.deployments(stagegate(), current_actor()),
                           diff_href=diff_href)


def _checkpoints() -> tuple[list[dict], str | None, str | None]:
    """The checkpoints to check: an uploaded file, else the configured one; with where they came from
    and, if they cannot be used, why not."""
    upload = request.files.get("checkpoints")
    path = current_app.config.get("AUDIT_CHECKPOINTS")
    if upload is not None and upload.filename:
        source = f"the uploaded file {upload.filename}"
        text = upload.read(MAX_CHECKPOINT_FILE + 1).decode("utf-8", errors="replace")
    elif path:
        source = f"the checkpoint file {path}"
        try:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            return [], source, f"{source} cannot be read: {exc.strerror}"
    else:
        return [], None, None
    try:
        return queries.read_checkpoint_file(stagegate(), text, source), source, None
    except AuditKeyError as exc:
        return [], source, str(exc)


@bp.route("/audit/verify", methods=["GET", "POST"])
@reads_only
@login_required
@engine_errors
def verify():
    """Run the chain check now (with the configured or an uploaded checkpoint file) and say whether
    the record is intact, or where it breaks."""
    checkpoints, source, problem = _checkpoints()
    return render_template("audit_verify.html", result=audit_log.verify(stagegate(), current_actor(), checkpoints),
                           source=source, problem=problem)
