"""Metrics for Sales Leadership, auditors and process designers: charts, tables, drill-downs,
CSV, the look-back lessons, high-CPA reviews and what-if replays of a draft decision table."""
from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from workflows import metrics
from workflows.cpa_review import flag_high_cpa
from engine.errors import FormInvalid, InvalidDiagram, Refused
from workflows.vocabulary import METRICS_ROLES

from . import charts, csvsafe, query
from .context import current_actor, stagegate
from .guard import engine_errors
from .limits import accepts
from .readonly import reads_only

bp = Blueprint("metrics", __name__)

MAX_DMN_BYTES = 5 * 1024 * 1024
# The designer posts its table as a form field: percent-encoding can triple it.
MAX_WHAT_IF_REQUEST = 3 * MAX_DMN_BYTES + 65536
LATEST = 50  # look-back lessons and stalled deals listed on the page (the drill-downs list all)
SCOPE_ARGS = ("version", "from", "to")


def _scope():
    """The scope asked for in the query string; a bad value is a 400 saying which."""
    metrics.require_reader(stagegate(), current_actor())
    args = request.values
    try:
        return metrics.scope_from(args.get("process"), args.get("version"), args.get("from"), args.get("to"))
    except Refused as exc:
        abort(400, description=str(exc))


def _filters(scope) -> dict:
    """The scope as query arguments, for links that keep the page's filters."""
    s = scope.as_dict()
    return {k: v for k, v in (("version", s["version"]), ("from", s["from"]), ("to", s["to"])) if v is not None}


@bp.route("/metrics")
@login_required
@engine_errors
def index():
    """The metrics page: funnel, time in stage, monthly trend, outcomes, stalled deals, lessons."""
    scope = _scope()
    sg = stagegate()
    r = metrics.report(sg, scope)
    return render_template("metrics.html", r=r, latest=LATEST, filters=_filters(scope), scope=scope.as_dict(),
                           funnel_chart=charts.funnel(r["funnel"]), stage_chart=charts.stage_times(r["stages"]),
                           trend_chart=charts.trend(r["trend"]), lessons=metrics.lessons_by_month(sg, scope, latest=LATEST),
                           may_flag="sales leadership" in current_user.roles)


@bp.route("/metrics/deals")
@login_required
@engine_errors
def deals():
    """The deals behind one number of the metrics page."""
    scope = _scope()
    behind = metrics.deals_behind(stagegate(), scope, query.text("key") or "", query.page())
    return render_template("metrics_deals.html", behind=behind, filters=_filters(scope))


@bp.route("/metrics.csv")
@login_required
@engine_errors
def export():
    """Every figure of the page as CSV rows: section, item, measure, value, deal ids."""
    scope = _scope()
    r = metrics.detail(stagegate(), scope)
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["section", "item", "measure", "value", "deal_ids"])
    groups = r["groups"]

    def row(section, item, measure, value, key=None):
        w.writerow([csvsafe.cell(section), csvsafe.cell(item), measure, csvsafe.cell(value),
                    " ".join(str(i) for i in groups.get(key, [])) if key else ""])

    for g in r["funnel"]:
        for m in ("entered", "go", "kill", "hold", "recycle"):
            row("funnel", g["gate"], m, g[m], f"funnel/{g['gate']}/{m}")
        row("funnel", g["gate"], "conversion_pct", g["conversion_pct"])
    for st in r["stages"]:
        row("time_in_stage", st["stage"], "median_days", st["median_days"], f"stage/{st['stage']}")
        row("time_in_stage", st["stage"], "p90_days", st["p90_days"], f"stage/{st['stage']}")
        row("time_in_stage", st["stage"], "stalled", st["stalled"], f"stalled/{st['stage']}")
    o = r["outcomes"]
    for m, key in (("closed", "closed"), ("won", "won"), ("lost", "lost"), ("killed", "killed"),
                   ("win_rate_pct", "decided"), ("avg_cycle_days", "decided"), ("avg_deal_size", "won"),
                   ("acquisition_cost", "costed"), ("cpa", "costed")):
        row("outcomes", "", m, o[m], key)
    for t in r["trend"]:
        for m in ("started", "won", "lost", "killed"):
            row("trend", t["month"], m, t[m], f"{m}/{t['month']}")
    name = "stagegate-metrics" + "".join(f"-{k}{v}" for k, v in _filters(scope).items()) + ".csv"
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/metrics/cpa-review", methods=["POST"])
@login_required
@engine_errors
def cpa_review():
    """Start a Sales Leadership review for each closed deal costlier than the threshold."""
    scope = _scope()
    try:
        r = flag_high_cpa(stagegate(), request.form.get("threshold"), current_actor(), scope)
    except FormInvalid as exc:
        flash(f"Nothing was flagged: the CPA threshold {exc.errors['threshold']}.", "error")
        return redirect(url_for("metrics.index", **_filters(scope)))
    flash(f"{len(r['flagged'])} high-CPA reviews started (acquisition cost above ${r['threshold']:,}); "
          f"{len(r['already_reviewed'])} deals already had one.", "success")
    return redirect(url_for("metrics.index", **_filters(scope)))


def _posted_dmn() -> tuple[bytes, str] | tuple[None, str]:
    upload = request.files.get("dmn_file")
    if upload is not None and upload.filename:
        content = upload.read(MAX_DMN_BYTES + 1)
        return content, upload.filename
    text = request.form.get("dmn_xml", "")
    return (text.encode("utf-8") if text.strip() else None), "draft.dmn"


@bp.route("/metrics/what-if", methods=["POST"])
@accepts(MAX_WHAT_IF_REQUEST, "a decision table may be at most 5 MB")
@reads_only
@login_required
@engine_errors
def what_if():
    """Start a replay of past gate decisions through a posted draft DMN (field dmn_xml, or a dmn_file
    upload) and go to its page, which follows the replay until it is done."""
    metrics.require_reader(stagegate(), current_actor())
    content, name = _posted_dmn()
    problems = []
    if content is None:
        problems = ["Paste the decision table's XML or choose a .dmn file."]
    elif len(content) > MAX_DMN_BYTES:
        problems = [f"{name} is larger than 5 MB; nothing was replayed."]
    else:
        try:
            job = metrics.start_what_if(stagegate(), current_actor(), content, name)
        except InvalidDiagram as exc:
            problems = [str(p) for p in exc.problems]
        else:
            return redirect(url_for("metrics.what_if_job", job_id=job["id"]), 303)
    return render_template("what_if.html", job=None, problems=problems, file_name=name), 400


@bp.route("/metrics/what-if/<int:job_id>")
@login_required
@engine_errors
def what_if_job(job_id):
    """A what-if replay: its result once done, the limit that stopped it, or a page that waits for it."""
    job = metrics.what_if_job(stagegate(), current_actor(), job_id)
    return render_template("what_if.html", job=job, result=job["result"], problems=[], file_name=job["file"])


@bp.route("/metrics/what-if/<int:job_id>.json")
@login_required
@engine_errors
def what_if_status(job_id):
    """A replay's status for the waiting page to poll (the result itself is on the page)."""
    job = metrics.what_if_job(stagegate(), current_actor(), job_id)
    return jsonify({k: job[k] for k in ("id", "status", "error", "limit", "created_at", "started_at", "finished_at")})


@bp.app_context_processor
def _nav() -> dict:
    """Whether the signed-in user gets the Metrics link."""
    roles = getattr(current_user, "roles", None) or []
    return {"may_see_metrics": bool(set(roles) & set(METRICS_ROLES))}
