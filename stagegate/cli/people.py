"""`stagegate user ...` and `stagegate token ...`: the people who work the processes, and their API tokens."""
from __future__ import annotations


import click

from engine.queries import records as queries
from engine.services.users import add_user, deactivate_user, reactivate_user, remove_roles, set_password
from stagegate.cli.common import DATABASE_ID, echo_rows, main, operator_name, run


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
        r = add_user(obj.sg, name, list(roles), operator_name(), password=password)
        click.echo(f"{r['name']}: {', '.join(r['roles'])}")
    run(go)


@user.command("passwd")
@click.argument("name")
@click.password_option()
@click.pass_obj
def user_passwd(obj, name, password):
    """Set a user's sign-in password."""
    run(lambda: click.echo(_ended(set_password(obj.sg, name, password, operator_name()), f"password set for {name}")))


@user.command("deactivate")
@click.argument("name")
@click.pass_obj
def user_deactivate(obj, name):
    """Deactivate a user: their sessions end and their API tokens are revoked."""
    run(lambda: click.echo(_ended(deactivate_user(obj.sg, name, operator_name()), f"{name} is deactivated")))


@user.command("activate")
@click.argument("name")
@click.pass_obj
def user_activate(obj, name):
    """Let a deactivated user sign in again (their old tokens stay revoked)."""
    run(lambda: (reactivate_user(obj.sg, name, operator_name()), click.echo(f"{name} is active")))


@user.command("remove-role")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, help="A role to take away; repeatable.")
@click.pass_obj
def user_remove_role(obj, name, roles):
    """Take roles away from a user (their sessions end)."""
    def go():
        r = remove_roles(obj.sg, name, list(roles), operator_name())
        click.echo(f"{r['name']}: {', '.join(r['roles']) or 'no role'}")
    run(go)


def _ended(r: dict, what: str) -> str:
    revoked = r.get("revoked_tokens") or []
    return what + "; sessions ended" + (f"; API tokens revoked: {', '.join(map(str, revoked))}" if revoked else "")


@user.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def user_list(obj, as_json):
    """List users and their roles."""
    def go():
        echo_rows(queries.users(obj.sg), as_json, lambda r: f"{r['name']}: {', '.join(r['roles'])}")
    run(go)



@main.group()
def token():
    """A user's API tokens for the JSON API."""


@token.command("create")
@click.option("--user", "user_name", required=True, help="The user the token acts as.")
@click.option("--name", "label", required=True, help="What will use it, e.g. 'CRM webhook'.")
@click.pass_obj
def token_create(obj, user_name, label):
    """Create a token; prints it once (only its hash is stored)."""
    from engine.services.tokens import create_token

    def go():
        r = create_token(obj.sg, user_name, operator_name(), label)
        click.echo(r["token"])
        click.echo(f"token {r['id']} '{r['name']}' for {user_name}: shown only now; "
                   "send it as 'Authorization: Bearer <token>'", err=True)
    run(go)


@token.command("list")
@click.option("--user", "user_name", required=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def token_list(obj, user_name, as_json):
    """A user's tokens (id, name, first characters, state); never the tokens themselves."""
    from engine.services.tokens import list_tokens

    def go():
        echo_rows(list_tokens(obj.sg, user_name, operator_name()), as_json,
                  lambda r: f"{r['id']:>4}  {r['prefix']}...  {r['name']:<24} {r['created_at']}  "
                            + ("active" if r["active"] else f"revoked {r['revoked_at']}"))
    run(go)


@token.command("revoke")
@click.argument("token_id", type=DATABASE_ID)
@click.option("--user", "user_name", required=True)
@click.pass_obj
def token_revoke(obj, token_id, user_name):
    """Revoke a token: requests with it are refused from now on."""
    from engine.services.tokens import revoke_token

    run(lambda: click.echo(f"revoked token {revoke_token(obj.sg, user_name, operator_name(), token_id)['id']}"))
