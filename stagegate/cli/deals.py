"""`stagegate start`, `tasks`, `complete`, `show` and `history`: working deals from the command line."""
from __future__ import annotations

import json

import click

from engine.queries import records as queries
from engine.services.instances import complete_task, start_instance
from stagegate.cli.common import DATABASE_ID, echo_rows, json_arg, main, run
from stagegate.cli.variables import variable_options, with_variables


@main.command()
@click.argument("process_id")
@click.option("--user", "user_name", required=True)
@click.option("--data", default=None, help="Start form values (or variables, without a form) as a JSON object.")
@variable_options
@click.option("--business-key", default=None, help="Your own reference for the deal (a CRM or ERP id).")
@click.pass_obj
def start(obj, process_id, user_name, data, var, vars_file, business_key):
    """Start an instance of the newest version; prints the instance id."""
    values = with_variables(json_arg(data), var, vars_file)
    run(lambda: click.echo(start_instance(obj.sg, process_id, user_name, values, business_key=business_key)["id"]))


@main.command()
@click.option("--user", "user_name", default=None)
@click.option("--role", default=None)
@click.option("--instance", "instance_id", type=DATABASE_ID, default=None)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def tasks(obj, user_name, role, instance_id, as_json):
    """Ready tasks, for a user's roles, a role or an instance."""
    def go():
        echo_rows(queries.ready_tasks(obj.sg, user=user_name, role=role, instance_id=instance_id), as_json,
                  lambda r: f"{r['id']}  #{r['instance_id']}  {r['role']:<18} {r['name']}")
    run(go)


@main.command()
@click.argument("task_id")
@click.option("--user", "user_name", required=True)
@click.option("--data", default=None, help="Form values (or variables, without a form) as a JSON object.")
@variable_options
@click.pass_obj
def complete(obj, task_id, user_name, data, var, vars_file):
    """Complete a ready task; exit 1 with the reason on refusal."""
    values = with_variables(json_arg(data), var, vars_file)
    def go():
        r = complete_task(obj.sg, task_id, user_name, values)
        click.echo(f"completed; instance {r['id']} is {r['status']}")
    run(go)


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
    run(go)


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
    run(go)
