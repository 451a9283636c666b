"""The process designer: versions, the bpmn-js/dmn-js editors, validation, drafts, deploy, diff.

Pages are for designers (auditors may read versions, sources and diffs); the editors talk
to the JSON routes here with the page's CSRF token in an X-CSRFToken header.
"""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import login_required

from engine.services import designer
from engine.limits import MAX_DIAGRAM_BYTES
from engine.errors import Conflict, InvalidDiagram

from . import query
from .context import current_actor, stagegate
from .guard import engine_errors
from .limits import accepts, json_body

bp = Blueprint("designer", __name__, url_prefix="/designer")

# An edited diagram travels as JSON text; escaping can at most double it.
MAX_REQUEST = 2 * MAX_DIAGRAM_BYTES + 65536
takes_a_diagram = accepts(MAX_REQUEST, f"a diagram may be at most {MAX_DIAGRAM_BYTES // 1048576} MB")


@bp.route("/")
@login_required
@engine_errors
def index():
    """Processes and decision tables with their versions, open drafts, import and new process."""
    return render_template("designer/index.html", catalog=designer.catalog(stagegate(), current_actor()),
                           problems=None)


def _editor(kind: str, key: str | None, title: str, src: str, version: int | None, note: str | None = None):
    return render_template("designer/editor.html", kind=kind, key=key, title=title, src=src, version=version,
                           note=note)


@bp.route("/processes/<process_id>/edit")
@login_required
@engine_errors
def edit_process(process_id):
    """A process in the modeler: the given version, else the saved draft, else the newest version."""
    return _edit("bpmn", process_id)


@bp.route("/decisions/<decision_id>/edit")
@login_required
@engine_errors
def edit_decision(decision_id):
    """A decision table in the DMN editor: the given version, else the draft, else the newest."""
    return _edit("dmn", decision_id)


def _edit(kind: str, key: str):
    sg, actor = stagegate(), current_actor()
    version = query.number("version", 1)
    draft = designer.draft(sg, actor, kind, key)  # designers only, also when a version is asked for
    if draft is not None and version is None:
        src = url_for("designer.draft_source", kind=kind, key=key)
        note = f"Draft saved by {draft['saved_by']}" + (f", from version {draft['base_version']}"
                                                        if draft["base_version"] else "")
        return _editor(kind, key, draft["name"], src, draft["base_version"], note)
    found = designer.source(sg, actor, kind, key, version)
    src = url_for("designer.export", kind=kind, key=key, version=found["version"])
    return _editor(kind, key, key, src, found["version"])


@bp.route("/new")
@login_required
@engine_errors
def new():
    """A new process from the template: a pool with a lane per role, a start, a task and an end."""
    designer.template(stagegate(), current_actor())  # designers only
    return _editor("bpmn", None, "New process", url_for("designer.template"), None,
                   "Give the process its own id and name (click the pool's background) before deploying.")


@bp.route("/template.bpmn")
@login_required
@engine_errors
def template():
    """The new-process template's XML."""
    return Response(designer.template(stagegate(), current_actor()), mimetype="application/xml")


@bp.route("/<kind>/<key>/versions/<int:version>")
@login_required
@engine_errors
def export(kind, key, version):
    """A deployed version's file; with ?download=1 as an attachment."""
    found = designer.source(stagegate(), current_actor(), kind, key, version)
    response = Response(found["content"], mimetype="application/xml")
    if request.args.get("download"):
        response.headers["Content-Disposition"] = _attachment(designer.diagram_file_name(key, kind, version))
    return response


def _attachment(name: str) -> str:
    """The header for a download of `name` (letters, digits, -_. only: ids deployed before deploy
    refused other ids may hold a line break), non-ASCII letters in the RFC 6266 form."""
    fallback = name.encode("ascii", "replace").decode().replace("?", "_")
    return f'attachment; filename="{fallback}"' + ("" if fallback == name else f"; filename*=UTF-8''{quote(name)}")


@bp.route("/drafts/<kind>/<key>")
@login_required
@engine_errors
def draft_source(kind, key):
    """A saved draft's XML."""
    found = designer.draft(stagegate(), current_actor(), kind, key)
    if found is None:
        abort(404, description=f"no draft of '{key}'")
    return Response(found["content"], mimetype="application/xml")


@bp.route("/drafts/<kind>/<key>/discard", methods=["POST"])
@login_required
@engine_errors
def discard(kind, key):
    """Throw a draft away and go back to the list."""
    if designer.discard_draft(stagegate(), current_actor(), kind, key):
        flash(f"Draft of {key} discarded.", "info")
    return redirect(url_for("designer.index"))


def _posted_diagram() -> tuple[str, bytes, dict]:
    body = json_body()
    if not isinstance(body, dict) or not isinstance(body.get("xml"), str):
        abort(400, description="send JSON with the diagram's XML in 'xml'")
    kind = body.get("kind") if body.get("kind") in designer.KINDS else "bpmn"
    return f"diagram.{kind}", body["xml"].encode("utf-8"), body


def _refused(exc: InvalidDiagram):
    return jsonify({"ok": False, "problems": [{**p.as_dict(), "severity": "error"} for p in exc.problems]}), 422


@bp.route("/validate", methods=["POST"])
@takes_a_diagram
@login_required
@engine_errors
def validate():
    """JSON: every problem (errors and warnings) with the posted diagram, by element id."""
    name, content, _ = _posted_diagram()
    problems = designer.validate(stagegate(), current_actor(), name, content)
    return jsonify({"ok": not any(p["severity"] == "error" for p in problems), "problems": problems})


@bp.route("/drafts", methods=["POST"])
@takes_a_diagram
@login_required
@engine_errors
def save_draft():
    """JSON: keep the posted diagram as the draft of its process or decision."""
    name, content, body = _posted_diagram()
    base = body.get("base_version") if isinstance(body.get("base_version"), int) else None
    try:
        saved = designer.save_draft(stagegate(), current_actor(), name, content, base)
    except InvalidDiagram as exc:
        return _refused(exc)
    return jsonify({"ok": True, "draft": saved})


@bp.route("/deploy", methods=["POST"])
@takes_a_diagram
@login_required
@engine_errors
def deploy():
    """JSON: deploy the posted diagram with the comment; running deals stay on their version."""
    name, content, body = _posted_diagram()
    comment = body.get("comment") if isinstance(body.get("comment"), str) else None
    base = body.get("base_version") if isinstance(body.get("base_version"), int) else None
    try:
        results = designer.deploy(stagegate(), current_actor(), name, content, comment, base)
    except InvalidDiagram as exc:
        return _refused(exc)
    except designer.CommentMissing as exc:
        return jsonify({"ok": False, "problems": [], "message": str(exc)}), 422
    except Conflict as exc:
        return jsonify({"ok": False, "problems": [], "message": str(exc)}), 409
    return jsonify({"ok": True, "results": results})


@bp.route("/deploy/preview", methods=["POST"])
@login_required
@engine_errors
def deploy_preview():
    """JSON: before a decision table is deployed, whether it changed and what its what-if replay finds."""
    name, content, _ = _posted_diagram()
    try:
        preview = designer.deploy_preview(stagegate(), current_actor(), name, content)
    except InvalidDiagram as exc:
        return _refused(exc)
    return jsonify({"ok": True, **preview})


@bp.route("/import", methods=["POST"])
@takes_a_diagram
@login_required
@engine_errors
def import_file():
    """Upload a .bpmn/.dmn file: kept as a draft and opened, or refused with every problem."""
    upload = request.files.get("file")
    sg, actor = stagegate(), current_actor()
    if upload is None or not upload.filename:
        problems = [{"file": "", "reason": "choose a .bpmn or .dmn file to import", "element_id": None,
                     "element_name": None, "line": None}]
        return render_template("designer/index.html", catalog=designer.catalog(sg, actor), problems=problems), 400
    content = upload.stream.read(MAX_DIAGRAM_BYTES + 1)
    try:
        saved = designer.import_file(sg, actor, upload.filename, content)
    except InvalidDiagram as exc:
        problems = [p.as_dict() for p in exc.problems]
        return render_template("designer/index.html", catalog=designer.catalog(sg, actor), problems=problems,
                               upload=upload.filename), 422
    endpoint = "designer.edit_process" if saved["kind"] == "bpmn" else "designer.edit_decision"
    key = "process_id" if saved["kind"] == "bpmn" else "decision_id"
    return redirect(url_for(endpoint, **{key: saved["key"]}))


@bp.route("/processes/<process_id>/diff")
@login_required
@engine_errors
def diff(process_id):
    """Two versions side by side: added, removed and changed elements marked, and listed."""
    base, head = query.number("base", 1), query.number("head", 1)
    if base is None or head is None:
        abort(400, description="give two versions to compare: ?base=N&head=M")
    changes = designer.diff(stagegate(), current_actor(), process_id, base, head)
    return render_template("designer/diff.html", diff=changes)
