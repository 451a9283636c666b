"""Comments on a deal (with @mentions) and the signed-in user's notifications."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup, escape

from engine.services import comments as comment_service
from engine.errors import FormInvalid

from .context import current_actor, stagegate
from .guard import engine_errors
from .readonly import reads_only

bp = Blueprint("comments", __name__)


@bp.route("/deals/<int:instance_id>/comments", methods=["POST"])
@login_required
@engine_errors
def add(instance_id):
    """Post a comment on the deal; the people it @mentions are notified."""
    try:
        c = comment_service.add_comment(stagegate(), instance_id, current_actor(), request.form.get("body", ""))
    except FormInvalid as exc:
        flash(f"Comment not posted: it {exc.errors.get('body')}.", "error")
        return redirect(url_for("deals.show", instance_id=instance_id, _anchor="comments"))
    told = ", ".join(c["mentions"])
    flash("Comment posted" + (f"; notified {told}" if told else "") + (
        f". Not notified (no such user, or they may not see this deal): {', '.join(c['not_notified'])}"
        if c["not_notified"] else "."), "success" if not c["not_notified"] else "info")
    return redirect(url_for("deals.show", instance_id=instance_id, _anchor=f"comment-{c['id']}"))


@bp.route("/notifications")
@login_required
def index():
    """The user's notifications, newest first."""
    return render_template("notifications.html", notes=comment_service.notifications(stagegate(), current_actor()))


@bp.route("/notifications/<int:notification_id>")
@login_required
def open_one(notification_id):
    """Mark a notification read and go to what it is about."""
    note = comment_service.open_notification(stagegate(), current_actor(), notification_id)
    if note is None or note["instance_id"] is None:
        return redirect(url_for("comments.index"))
    return redirect(url_for("deals.show", instance_id=note["instance_id"],
                            _anchor=f"comment-{note['comment_id']}" if note["comment_id"] else None))


@bp.route("/notifications/read", methods=["POST"])
@login_required
@reads_only  # an auditor may clear their own badge: it changes no record of any deal
def read_all():
    """Mark every notification read."""
    comment_service.mark_read(stagegate(), current_actor())
    return redirect(url_for("comments.index"))


def mentions(body: str) -> Markup:
    """A comment's text, escaped, with each @name marked."""
    return Markup(comment_service.MENTION.sub(r'<strong class="mention">@\1</strong>', str(escape(body or ""))))


def init_app(app) -> None:
    """The unread badge on every page and the mention filter."""
    app.context_processor(unread_badge)
    app.add_template_filter(mentions)


def unread_badge() -> dict:
    """Template context: how many unread notifications the signed-in user has."""
    if not getattr(current_user, "is_authenticated", False):
        return {}
    return {"unread_notifications": comment_service.unread_count(stagegate(), current_actor())}
