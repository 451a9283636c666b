"""`stagegate init`, `demo`, `worker`, `serve` and `deploy`: setting up and running an installation."""
from __future__ import annotations


import click

from engine.queries import records as queries
from stagegate.compose import bootstrap
from engine.services.deployment import collect_files, deploy
from engine.process_limits import DEFAULT_MEMORY_MB, DEFAULT_RLIMIT, RLIMITS
from stagegate.cli.common import main, operator_name, run


@main.command()
@click.option("--owner-url", envvar="STAGEGATE_OWNER_DATABASE_URL", default=None,
              help="PostgreSQL: run the migrations as this role (the tables' owner) and grant the app's role "
                   "(the user of --database-url) what it needs: INSERT and SELECT only on audit_events.")
@click.pass_obj
def init(obj, owner_url):
    """Create or upgrade the database (idempotent), and the audit key if there is none."""
    run(lambda: bootstrap(obj.url, migrate=True, owner_url=owner_url).dispose())
    click.echo("database is up to date")


@main.command()
@click.pass_obj
def demo(obj):
    """Create the database with the shipped catalog, demo users and sample deals."""
    from workflows.demo import DEMO_PASSWORD, load_demo

    def go():
        sg = bootstrap(obj.url, migrate=True)
        if queries.users(sg):
            click.echo("the database already has users; demo data is only loaded into an empty database")
            return
        result = load_demo(lambda clock: bootstrap(obj.url, clock=clock))
        for name, roles in result["users"].items():
            click.echo(f"user {name:<6} password {DEMO_PASSWORD}  roles: {', '.join(roles)}")
        click.echo(f"{len(result['deals'])} opportunities created; try: stagegate tasks --user sam")
    run(go)


@main.command()
@click.option("--once", is_flag=True, help="Fire what is due now, then exit.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between passes.")
@click.pass_obj
def worker(obj, once, interval):
    """Fire due timers and escalations, warn of SLAs, send mail and webhooks (loops; --once for a single
    pass). Run as many copies as you like."""
    import time

    from engine.clock import utcnow
    from engine.services.worker import worker_id, worker_pass

    wid, started = worker_id(), utcnow()

    def one_pass():
        r = worker_pass(obj.sg, wid, started)
        t, m, w, d = r["timers"], r["mail"], r["webhooks"], r["timer_starts"]
        if once or t["fired"] or t["failed"] or r["relayed"] or d["started"] or d["failed"]:
            click.echo(f"fired {t['fired']} timers, {t['failed']} failed, {t['skipped']} skipped; "
                       f"timer start events started {d['started']} deals, {d['failed']} failed; "
                       f"{r['relayed']} events relayed; mail {m['sent']} sent, {m['failed']} failed, "
                       f"{m['logged']} logged; webhooks {w['delivered']} delivered, {w['failed']} failed, {w['dead']} dead")

    while True:
        run(one_pass)
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

    run(lambda: run_server(obj.url, bind, workers, secure_cookies, timeout, threads, memory_limit, memory_rlimit))


@main.command("deploy")
@click.argument("paths", nargs=-1, required=True)
@click.option("--user", "user", default=None, help="Deploy as this user (needs the process designer role).")
@click.option("--comment", default=None)
@click.pass_obj
def deploy_cmd(obj, paths, user, comment):
    """Deploy .bpmn/.dmn files or folders; prints PROCESS_ID vN per process."""
    def go():
        results = deploy(obj.sg, collect_files(paths), user or operator_name(), comment)
        for r in results:
            if r["kind"] == "warning":
                click.echo(f"warning: {r['text']}", err=True)
                continue
            suffix = "" if r["changed"] else " (unchanged)"
            if r["kind"] == "process":
                click.echo(f"{r['id']} v{r['version']}{suffix}")
            else:
                click.echo(f"{r['id']} v{r['version']} (decision){suffix}")
    run(go)
