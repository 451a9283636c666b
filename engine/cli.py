"""`stagegate` command line: the contract scripts rely on. Same services as the web app."""
from __future__ import annotations

import getpass
import json
import sys

import click
from sqlalchemy.exc import OperationalError, ProgrammingError

from . import queries
from .audit_key import AuditKeyError
from .audit_verify import checkpoint_line, describe_break, describe_ok, read_checkpoints
from .bootstrap import bootstrap
from .db_roles import RoleSetupFailed
from .deployment import collect_files, deploy
from .errors import FormInvalid, InvalidDiagram, StagegateError, StepFailed
from .instances import complete_task, start_instance
from .limits import MAX_ID, InputRefused, parse_json
from .process_limits import DEFAULT_MEMORY_MB, DEFAULT_RLIMIT, RLIMITS
from .cli_variables import variable_options, with_variables
from .users import add_user, deactivate_user, reactivate_user, remove_roles, set_password


DATABASE_ID = click.IntRange(0, MAX_ID)  # ids and versions: what the database can hold


def _operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "cli:operator"


def _json_arg(text: str | None) -> dict:
    if not text:
        return {}
    try:
        value = parse_json(text, "--data")
    except InputRefused as exc:
        raise click.UsageError(str(exc)) from None
    if not isinstance(value, dict):
        raise click.UsageError("--data must be a JSON object, e.g. '{\"amount\": 5}'")
    return value


def _fail(exc: StagegateError) -> None:
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
    elif isinstance(exc, (AuditKeyError, RoleSetupFailed)):
        click.echo(f"error: {exc}", err=True)
    else:
        click.echo(f"refused: {exc}", err=True)
    sys.exit(1)


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


def _run(fn):
    try:
        return fn()
    except StagegateError as exc:
        _fail(exc)
    except (OperationalError, ProgrammingError) as exc:
        text = str(exc.orig) if getattr(exc, "orig", None) else str(exc)
        stale = any(s in text for s in ("no such table", "no such column", "does not exist"))
        hint = " (run `stagegate init` first)" if stale else ""
        click.echo(f"error: the database could not be used: {text.splitlines()[0]}{hint}", err=True)
        sys.exit(1)


@main.command()
@click.option("--owner-url", envvar="STAGEGATE_OWNER_DATABASE_URL", default=None,
              help="PostgreSQL: run the migrations as this role (the tables' owner) and grant the app's role "
                   "(the user of --database-url) what it needs: INSERT and SELECT only on audit_events.")
@click.pass_obj
def init(obj, owner_url):
    """Create or upgrade the database (idempotent), and the audit key if there is none."""
    _run(lambda: bootstrap(obj.url, migrate=True, owner_url=owner_url).dispose())
    click.echo("database is up to date")


@main.command()
@click.pass_obj
def demo(obj):
    """Create the database with the shipped catalog, demo users and sample deals."""
    from .demo import DEMO_PASSWORD, load_demo

    def go():
        sg = bootstrap(obj.url, migrate=True)
        if queries.users(sg):
            click.echo("the database already has users; demo data is only loaded into an empty database")
            return
        result = load_demo(lambda clock: bootstrap(obj.url, clock=clock))
        for name, roles in result["users"].items():
            click.echo(f"user {name:<6} password {DEMO_PASSWORD}  roles: {', '.join(roles)}")
        click.echo(f"{len(result['deals'])} opportunities created; try: stagegate tasks --user sam")
    _run(go)


@main.command()
@click.option("--once", is_flag=True, help="Fire what is due now, then exit.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between passes.")
@click.pass_obj
def worker(obj, once, interval):
    """Fire due timers and escalations (loops; --once for a single pass). Run as many copies as you like."""
    import time

    from .timers import fire_due_timers

    def one_pass():
        r = fire_due_timers(obj.sg)
        if once or r["fired"] or r["failed"]:
            click.echo(f"fired {r['fired']} timers, {r['failed']} failed, {r['skipped']} skipped")

    while True:
        _run(one_pass)
        if once:
            return
        time.sleep(interval)


def memory_options(fn):
    """--memory-limit and --memory-rlimit, shared by `stagegate serve` and `python -m web`."""
    fn = click.option("--memory-rlimit", type=click.Choice(sorted(RLIMITS)), default=DEFAULT_RLIMIT, show_default=True,
                      help="data: RLIMIT_DATA (heap and private memory); as: RLIMIT_AS (the whole address space) "
                           "(env STAGEGATE_SERVER_MEMORY_RLIMIT).")(fn)
    return click.option("--memory-limit", type=click.IntRange(0), default=DEFAULT_MEMORY_MB, show_default=True,
                        metavar="MB", help="Memory each server process may use; 0 for no limit "
                                           "(env STAGEGATE_SERVER_MEMORY_MB).")(fn)


@main.command()
@click.option("--bind", default="127.0.0.1:8000", show_default=True, help="HOST:PORT to listen on.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="Gunicorn worker processes.")
@click.option("--timeout", default=60, show_default=True, type=click.IntRange(1),
              help="Seconds a request may take before gunicorn restarts its worker.")
@click.option("--secure-cookies/--no-secure-cookies", default=True, show_default=True,
              help="Send the session cookie over HTTPS only (turn off only for plain-http testing).")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 256),
              help="Requests each worker process answers at once.")
@memory_options
@click.pass_obj
def serve(obj, bind, workers, timeout, secure_cookies, threads, memory_limit, memory_rlimit):
    """Serve the web app and the JSON API under gunicorn (migrates the database first)."""
    from web.serve import serve as run_server

    _run(lambda: run_server(obj.url, bind, workers, secure_cookies, timeout, threads, memory_limit, memory_rlimit))


@main.command("deploy")
@click.argument("paths", nargs=-1, required=True)
@click.option("--user", "user", default=None, help="Deploy as this user (needs the process designer role).")
@click.option("--comment", default=None)
@click.pass_obj
def deploy_cmd(obj, paths, user, comment):
    """Deploy .bpmn/.dmn files or folders; prints PROCESS_ID vN per process."""
    def go():
        results = deploy(obj.sg, collect_files(paths), user or _operator(), comment)
        for r in results:
            if r["kind"] == "warning":
                click.echo(f"warning: {r['text']}", err=True)
                continue
            suffix = "" if r["changed"] else " (unchanged)"
            if r["kind"] == "process":
                click.echo(f"{r['id']} v{r['version']}{suffix}")
            else:
                click.echo(f"{r['id']} v{r['version']} (decision){suffix}")
    _run(go)


@main.group()
def user():
    """Manage users and their roles."""


@user.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, help="A role (lane name); repeatable.")
@click.option("--password", default=None, help="Sign-in password for the web app (8+ characters).")
@click.pass_obj
def user_add(obj, name, roles, password):
    """Create a user with roles (or grant more roles)."""
    def go():
        r = add_user(obj.sg, name, list(roles), _operator(), password=password)
        click.echo(f"{r['name']}: {', '.join(r['roles'])}")
    _run(go)


@user.command("passwd")
@click.argument("name")
@click.password_option()
@click.pass_obj
def user_passwd(obj, name, password):
    """Set a user's sign-in password."""
    _run(lambda: click.echo(_ended(set_password(obj.sg, name, password, _operator()), f"password set for {name}")))


@user.command("deactivate")
@click.argument("name")
@click.pass_obj
def user_deactivate(obj, name):
    """Deactivate a user: their sessions end and their API tokens are revoked."""
    _run(lambda: click.echo(_ended(deactivate_user(obj.sg, name, _operator()), f"{name} is deactivated")))


@user.command("activate")
@click.argument("name")
@click.pass_obj
def user_activate(obj, name):
    """Let a deactivated user sign in again (their old tokens stay revoked)."""
    _run(lambda: (reactivate_user(obj.sg, name, _operator()), click.echo(f"{name} is active")))


@user.command("remove-role")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, help="A role to take away; repeatable.")
@click.pass_obj
def user_remove_role(obj, name, roles):
    """Take roles away from a user (their sessions end)."""
    def go():
        r = remove_roles(obj.sg, name, list(roles), _operator())
        click.echo(f"{r['name']}: {', '.join(r['roles']) or 'no role'}")
    _run(go)


def _ended(r: dict, what: str) -> str:
    revoked = r.get("revoked_tokens") or []
    return what + "; sessions ended" + (f"; API tokens revoked: {', '.join(map(str, revoked))}" if revoked else "")


@user.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def user_list(obj, as_json):
    """List users and their roles."""
    def go():
        rows = queries.users(obj.sg)
        if as_json:
            click.echo(json.dumps(rows, indent=2))
        else:
            for r in rows:
                click.echo(f"{r['name']}: {', '.join(r['roles'])}")
    _run(go)


@main.command()
@click.argument("process_id")
@click.option("--user", "user_name", required=True)
@click.option("--data", default=None, help="Start form values (or variables, without a form) as a JSON object.")
@variable_options
@click.option("--business-key", default=None, help="Your own reference for the deal (a CRM or ERP id).")
@click.pass_obj
def start(obj, process_id, user_name, data, var, vars_file, business_key):
    """Start an instance of the newest version; prints the instance id."""
    values = with_variables(_json_arg(data), var, vars_file)
    _run(lambda: click.echo(start_instance(obj.sg, process_id, user_name, values, business_key=business_key)["id"]))


@main.command()
@click.option("--user", "user_name", default=None)
@click.option("--role", default=None)
@click.option("--instance", "instance_id", type=DATABASE_ID, default=None)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def tasks(obj, user_name, role, instance_id, as_json):
    """Ready tasks, for a user's roles, a role or an instance."""
    def go():
        rows = queries.ready_tasks(obj.sg, user=user_name, role=role, instance_id=instance_id)
        if as_json:
            click.echo(json.dumps(rows, indent=2))
        else:
            for r in rows:
                click.echo(f"{r['id']}  #{r['instance_id']}  {r['role']:<18} {r['name']}")
    _run(go)


@main.command()
@click.argument("task_id")
@click.option("--user", "user_name", required=True)
@click.option("--data", default=None, help="Form values (or variables, without a form) as a JSON object.")
@variable_options
@click.pass_obj
def complete(obj, task_id, user_name, data, var, vars_file):
    """Complete a ready task; exit 1 with the reason on refusal."""
    values = with_variables(_json_arg(data), var, vars_file)
    def go():
        r = complete_task(obj.sg, task_id, user_name, values)
        click.echo(f"completed; instance {r['id']} is {r['status']}")
    _run(go)


@main.command()
@click.argument("instance_id", type=DATABASE_ID)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def show(obj, instance_id, as_json):
    """Status, outcome (open, won, lost, killed at a gate...) and data of an instance."""
    def go():
        r = queries.instance(obj.sg, instance_id)
        if as_json:
            click.echo(json.dumps(r, indent=2))
        else:
            click.echo(f"#{r['id']} {r['title']} [{r['process_id']} v{r['version']}] {r['status']}"
                       + (f" at {r['ended_at_element']}" if r["ended_at_element"] else ""))
            if r["business_key"]:
                click.echo(f"business key: {r['business_key']}")
            click.echo(f"outcome: {r['outcome']['text']}")
            click.echo(json.dumps(r["data"], indent=2))
    _run(go)


@main.command()
@click.argument("instance_id", type=DATABASE_ID)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def history(obj, instance_id, as_json):
    """Audit events of an instance, in order."""
    def go():
        rows = queries.history(obj.sg, instance_id)
        if as_json:
            click.echo(json.dumps(rows, indent=2))
        else:
            for e in rows:
                after = e["on_behalf_of"] if e["on_behalf_of"] not in (None, e["actor"]) else None
                actor = f"{e['actor']} (after {after})" if after else e["actor"]
                click.echo(f"{e['at']}  {actor:<14} {e['kind']:<20} {e['element_id'] or ''}")
    _run(go)


@main.group()
def token():
    """A user's API tokens for the JSON API."""


@token.command("create")
@click.option("--user", "user_name", required=True, help="The user the token acts as.")
@click.option("--name", "label", required=True, help="What will use it, e.g. 'CRM webhook'.")
@click.pass_obj
def token_create(obj, user_name, label):
    """Create a token; prints it once (only its hash is stored)."""
    from .tokens import create_token

    def go():
        r = create_token(obj.sg, user_name, _operator(), label)
        click.echo(r["token"])
        click.echo(f"token {r['id']} '{r['name']}' for {user_name}: shown only now; "
                   "send it as 'Authorization: Bearer <token>'", err=True)
    _run(go)


@token.command("list")
@click.option("--user", "user_name", required=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def token_list(obj, user_name, as_json):
    """A user's tokens (id, name, first characters, state); never the tokens themselves."""
    from .tokens import list_tokens

    def go():
        rows = list_tokens(obj.sg, user_name, _operator())
        if as_json:
            click.echo(json.dumps(rows, indent=2))
        for r in rows if not as_json else []:
            state = "active" if r["active"] else f"revoked {r['revoked_at']}"
            click.echo(f"{r['id']:>4}  {r['prefix']}...  {r['name']:<24} {r['created_at']}  {state}")
    _run(go)


@token.command("revoke")
@click.argument("token_id", type=DATABASE_ID)
@click.option("--user", "user_name", required=True)
@click.pass_obj
def token_revoke(obj, token_id, user_name):
    """Revoke a token: requests with it are refused from now on."""
    from .tokens import revoke_token

    _run(lambda: click.echo(f"revoked token {revoke_token(obj.sg, user_name, _operator(), token_id)['id']}"))


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
    r = _run(lambda: queries.verify_audit(obj.sg, _read_checkpoints(obj, checkpoint_file)))
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
    r = _run(lambda: queries.audit_checkpoint(obj.sg, _read_checkpoints(obj, append_to, missing_ok=True)))
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
    from .audit import rotate_key

    r = _run(lambda: rotate_key(obj.sg, _operator()))
    click.echo(f"the chain is signed with audit key {r['key_id']} from now on; {r['source']} keeps the older "
               "keys to verify older events. Copy it to every machine that runs Stagegate, then start them.")


def _scope_options(fn):
    for option in reversed([
            click.option("--process", "process_id", default="opportunity", show_default=True),
            click.option("--version", type=DATABASE_ID, default=None, help="only deals of this process version"),
            click.option("--from", "date_from", default=None, help="first day of the period (YYYY-MM-DD)"),
            click.option("--to", "date_to", default=None, help="last day of the period (YYYY-MM-DD)")]):
        fn = option(fn)
    return fn


@main.command("metrics")
@_scope_options
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def metrics_cmd(obj, process_id, version, date_from, date_to, as_json):
    """Funnel, time in stage, stalled deals, win rate, cycle time, deal size and CPA."""
    from . import metrics

    def go():
        r = metrics.report(obj.sg, metrics.scope_from(process_id, version, date_from, date_to))
        if as_json:
            click.echo(json.dumps(r, indent=2))
            return
        o = r["outcomes"]
        click.echo(f"{r['deals']} deals; closed {o['closed']}: won {o['won']}, lost {o['lost']}, killed {o['killed']}; "
                   f"win rate {o['win_rate_pct']}%; cycle {o['avg_cycle_days']} days; "
                   f"deal size {o['avg_deal_size']}; CPA {o['cpa']}")
        for g in r["funnel"]:
            click.echo(f"gate {g['gate']:<14} entered {g['entered']:>5}  go {g['go']:>5}  kill {g['kill']:>5}  "
                       f"hold {g['hold']:>4}  recycle {g['recycle']:>4}  conversion {g['conversion_pct']}%")
        for st in r["stages"]:
            click.echo(f"stage {st['stage']:<14} median {st['median_days']} d  p90 {st['p90_days']} d  "
                       f"open {st['open']}  stalled {st['stalled']}")
    _run(go)


@main.command("what-if")
@click.argument("dmn_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--process", "process_id", default=None, help="only gates of this process")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def what_if_cmd(obj, dmn_file, process_id, as_json):
    """Replay past gate decisions through a changed (not deployed) DMN file (waits for the replay,
    which runs as a sandbox job under the what-if limits)."""
    from pathlib import Path

    from .metrics import what_if

    def go():
        try:
            r = what_if(obj.sg, Path(dmn_file).read_bytes(), Path(dmn_file).name, process_id)
        except InvalidDiagram as exc:
            click.echo("refused: the draft decision table cannot be replayed:", err=True)
            for p in exc.problems:
                click.echo(f"  {p}", err=True)
            sys.exit(1)
        if as_json:
            click.echo(json.dumps(r, indent=2))
            return
        for d in r["decisions"]:
            click.echo(f"decision {d['decision']} (gates: {', '.join(d['gates']) or 'none recorded'}): "
                       f"{d['replayed']} passes replayed, {d['changed']} would change")
            for t in d["transitions"]:
                fates = ", ".join(f"{n} {f}" for f, n in sorted(t["fates"].items()))
                click.echo(f"  {t['from']} -> {t['to']}: {t['count']} ({fates})")
            for c in d["changed_deals"]:
                click.echo(f"  deal {c['id']} {c['title']}: {c['recorded']} -> {c['replayed']}, went on to {c['fate']}")
            for f in d["failures"]:
                click.echo(f"  deal {f['id']} not replayed: {f['reason']}")
    _run(go)


@main.command("cpa-review")
@click.option("--threshold", required=True, help="flag closed deals whose acquisition cost is above this ($)")
@click.option("--user", "user_name", required=True, help="the Sales Leadership user who starts the reviews")
@_scope_options
@click.pass_obj
def cpa_review_cmd(obj, threshold, user_name, process_id, version, date_from, date_to):
    """Start one Sales Leadership review per closed deal costlier than the threshold."""
    from .cpa_review import flag_high_cpa
    from .metrics import scope_from

    def go():
        r = flag_high_cpa(obj.sg, threshold, user_name, scope_from(process_id, version, date_from, date_to))
        for f in r["flagged"]:
            click.echo(f"deal {f['deal_id']}: review {f['review_id']} started (cost {f['acquisition_cost']:.0f})")
        click.echo(f"{len(r['flagged'])} reviews started, {len(r['already_reviewed'])} deals already reviewed")
    _run(go)


if __name__ == "__main__":
    main()
