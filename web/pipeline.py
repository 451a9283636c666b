"""The pipeline board: open deals as cards in columns by stage, with each column's totals and forecast."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

from workflows import pipeline

from . import query
from .context import current_actor, stagegate
from .guard import engine_errors

bp = Blueprint("pipeline", __name__)


def read_filters() -> tuple[pipeline.Filters, dict]:
    """The board's filters from the query string (shared with the deals list), and the reason for
    each value that could not be used (that filter is then left out)."""
    values, problems = {}, {}
    for name, read in (("process", query.text), ("owner", query.text), ("stage", query.text),
                       ("min_value", query.number), ("max_value", query.number)):
        try:
            values[name] = read(name)
        except query.QueryInvalid as exc:
            problems.update(exc.errors)
    return pipeline.Filters(**values), problems


@bp.app_template_filter()
def money(amount) -> str:
    """An amount as whole dollars: '$1,250,000'; '—' for none."""
    return "—" if amount is None else f"${amount:,.0f}"


@bp.route("/pipeline")
@login_required
@engine_errors
def index():
    """The board of the open deals the user may see, filtered by process, owner, stage and value."""
    filters, problems = read_filters()
    result = pipeline.board(stagegate(), current_actor(), filters)
    return render_template("pipeline.html", board=result, f=filters, problems=problems), 400 if problems else 200
