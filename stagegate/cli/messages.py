"""`stagegate message`: send a message to the deal waiting for it, as an integration would."""
from __future__ import annotations

import json

import click

from engine.services.messages import correlate_message
from stagegate.cli.common import json_arg, main, run


@main.command()
@click.argument("name")
@click.option("--user", "user_name", required=True, help="Who sends it (the integration role, or the waiting lane's).")
@click.option("--business-key", default=None, help="The deal's number: only that deal.")
@click.option("--key", "keys", multiple=True, metavar="NAME=JSON",
              help="A correlation key: only deals whose data hold this value (repeatable).")
@click.option("--data", default=None, help="Variables as a JSON object, set on the deal.")
@click.option("--all", "to_all", is_flag=True, help="Deliver to every waiting deal instead of refusing several.")
@click.option("--message-id", default=None, help="Makes a retry harmless: the same id is delivered once.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def message(obj, name, user_name, business_key, keys, data, to_all, message_id, as_json):
    """Deliver the message NAME; exit 1 with the reason when no deal (or several) wait for it."""
    variables = json_arg(data)
    correlation_keys = dict(_key(k) for k in keys)

    def go():
        r = correlate_message(obj.sg, name, user_name, business_key=business_key, correlation_keys=correlation_keys,
                              variables=variables, all=to_all, message_id=message_id)
        if as_json:
            click.echo(json.dumps(r, indent=2, default=str))
            return
        for c in r["correlations"]:
            how = "started" if c["started"] else f"caught at {', '.join(c['element_ids'])}"
            click.echo(f"#{c['instance_id']} {c['process_id']}: {how}; now {c['status']}"
                       + (" (a retry: delivered before)" if r["replayed"] else ""))
    run(go)


def _key(text: str) -> tuple[str, object]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise click.UsageError(f"--key takes NAME=VALUE, got {text!r}")
    try:
        return name, json.loads(value)
    except ValueError:
        return name, value  # a bare word is text: --key customer=Acme
