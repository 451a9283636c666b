"""Administration pages (the Administrator role): users and their roles, webhook subscriptions
with their delivery logs, the mail log and the workers' status. No deal data is shown here."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine.errors import FormInvalid, Refused
from engine.limits import MAX_ID
from engine.queries import integrations as views
from engine.queries import records as queries
from engine.roles import ADMIN_ROLE
from engine.services import webhooks
from engine.services.outbox import WEBHOOK_EVENTS
from engine.services.users import add_user, deactivate_user, reactivate_user, remove_roles, set_password

from .context import current_actor, stagegate
from .guard import engine_errors

bp = Blueprint("admin", __name__, url_prefix="/admin")


def admin_only(view):
    """Only Administrators reach these pages (the services check again)."""
    @wraps(view)
    @login_required
    @engine_errors
    def wrapped(*args, **kwargs):
        if ADMIN_ROLE not in current_user.roles:
            abort(403, description=f"{current_user.name} may not administer Stagegate: it needs the role 'administrator'")
        return view(*args, **kwargs)
    return wrapped


def _roles(text: str) -> list[str]:
    return [r.strip() for r in (text or "").split(",") if r.strip()]


def _problem(exc: Exception) -> str:
    if isinstance(exc, FormInvalid):
        return "; ".join(f"{k}: {v}" for k, v in exc.errors.items())
    return str(exc)


@bp.route("/")
@admin_only
def index():
    """Workers, the outbox backlog, mail and webhook deliveries by state, the SMTP settings in use."""
    return render_template("admin_status.html", status=views.status(stagegate(), current_actor()))


@bp.route("/users")
@admin_only
def users():
    """Every user, their roles and whether they may sign in; forms to change them."""
    return render_template("admin_users.html", users=queries.users(stagegate()))


@bp.route("/users", methods=["POST"])
@admin_only
def user_change():
    """Add a user, grant or take roles, reset a password, deactivate or reactivate (all audited)."""
    sg, me, form = stagegate(), current_actor(), request.form
    name, action = (form.get("name") or "").strip(), form.get("action")
    try:
        if action == "add":
            add_user(sg, name, _roles(form.get("roles")), me, password=form.get("password") or None)
            done = f"{name} now holds {form.get('roles') or 'no role'}"
        elif action == "grant":
            add_user(sg, name, _roles(form.get("roles")), me)
            done = f"{name} was granted {form.get('roles')}"
        elif action == "revoke":
            remove_roles(sg, name, _roles(form.get("roles")), me)
            done = f"{form.get('roles')} taken from {name}"
        elif action == "password":
            set_password(sg, name, form.get("password") or "", me)
            done = f"{name}'s password was reset; their sessions ended"
        elif action == "deactivate":
            deactivate_user(sg, name, me)
            done = f"{name} is deactivated; their sessions and API tokens ended"
        elif action == "activate":
            reactivate_user(sg, name, me)
            done = f"{name} may sign in again"
        else:
            abort(400, description="unknown action")
    except (Refused, FormInvalid) as exc:
        return render_template("admin_users.html", users=queries.users(sg), error=_problem(exc)), 422
    flash(done, "success")
    return redirect(url_for("admin.users"))


@bp.route("/webhooks")
@admin_only
def hooks():
    """Subscriptions with their deliveries by state, and a form to add one."""
    return render_template("admin_webhooks.html", subs=views.subscriptions(stagegate(), current_actor()),
                           events=WEBHOOK_EVENTS)


@bp.route("/webhooks", methods=["POST"])
@admin_only
def hook_add():
    """Subscribe a URL; the signing secret is shown this once."""
    sg, me = stagegate(), current_actor()
    try:
        made = webhooks.create_subscription(sg, me, request.form.get("url") or "", request.form.getlist("events"),
                                            request.form.get("description"))
    except FormInvalid as exc:
        return render_template("admin_webhooks.html", subs=views.subscriptions(sg, me), events=WEBHOOK_EVENTS,
                               error=_problem(exc)), 422
    return render_template("admin_webhooks.html", subs=views.subscriptions(sg, me), events=WEBHOOK_EVENTS,
                           made=made), 201


@bp.route("/webhooks/<int:sub_id>")
@admin_only
def hook_log(sub_id):
    """One subscription's delivery log: each delivery, its event and every attempt."""
    return render_template("admin_webhook_log.html", log=views.delivery_log(stagegate(), current_actor(), sub_id),
                           events=WEBHOOK_EVENTS)


@bp.route("/webhooks/<int:sub_id>", methods=["POST"])
@admin_only
def hook_change(sub_id):
    """Change the URL and events, pause or resume, rotate the signing secret, or replay deliveries."""
    sg, me, form = stagegate(), current_actor(), request.form
    try:
        if form.get("action") == "rotate":
            made = webhooks.rotate_secret(sg, me, sub_id)
            return render_template("admin_webhook_log.html", log=views.delivery_log(sg, me, sub_id),
                                   events=WEBHOOK_EVENTS, made=made)
        if form.get("action") == "replay":
            one = form.get("delivery_id")
            if one and not (one.isdigit() and int(one) <= MAX_ID):
                abort(404, description=f"subscription {sub_id} has no delivery {one[:40]}")
            r = webhooks.replay(sg, me, sub_id, int(one) if one else None)
            flash(f"{len(r['replayed'])} deliveries queued again", "success")
        else:
            saving = form.get("action") == "save"  # pause and resume change nothing else
            webhooks.update_subscription(sg, me, sub_id, url=form.get("url") if saving else None,
                                         event_types=form.getlist("events") if saving else None,
                                         active={"pause": False, "resume": True}.get(form.get("action")))
            flash("subscription saved", "success")
    except FormInvalid as exc:
        return render_template("admin_webhook_log.html", log=views.delivery_log(sg, me, sub_id),
                               events=WEBHOOK_EVENTS, error=_problem(exc)), 422
    return redirect(url_for("admin.hook_log", sub_id=sub_id))


@bp.route("/mail")
@admin_only
def mail():
    """The mail log: what was sent, is waiting or failed, and, without SMTP, the mail itself (the demo's catcher)."""
    return render_template("admin_mail.html", mails=views.mail_log(stagegate(), current_actor()),
                           smtp=stagegate().integrations.shown())
