"""`appliance users add/ls/passwd/rm`: the web page's local users (docs/web.md)."""

from __future__ import annotations

import sqlite3
import sys
import time

import click

from appliance.cli.context import Context, emit_json, pass_ctx, when
from appliance.db.database import connect, migrate
from appliance.web.users import UserRefused, UserStore


def _store(obj: Context) -> UserStore:
    # Users are often added before the box first runs: make the database if need be.
    migrate(obj.config.box.data_dir)
    return UserStore(connect(obj.config.box.data_dir), time.time)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


def _run(store: UserStore, action: str, name: str, password: str = "") -> None:
    try:
        if action == "add":
            store.add(name, password)
        elif action == "passwd":
            store.set_password(name, password)
        else:
            store.remove(name)
    except UserRefused as exc:
        raise click.ClickException(exc.sentence) from None
    finally:
        store.conn.close()


@click.group("users")
def users_group() -> None:
    """Who may log in to the web page and use its controls."""


@users_group.command("add")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_ctx
def users_add(obj: Context, name: str, password_stdin: bool) -> None:
    """Add a user NAME, asking for the password twice."""
    _run(_store(obj), "add", name, _password(password_stdin))
    click.echo(f"User {name} can now log in on the status page.")


@users_group.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_ctx
def users_passwd(obj: Context, name: str, password_stdin: bool) -> None:
    """Give NAME a new password; NAME's open sessions end."""
    _run(_store(obj), "passwd", name, _password(password_stdin))
    click.echo(f"The password of {name} is changed; their open sessions have ended.")


@users_group.command("rm")
@click.argument("name")
@pass_ctx
def users_rm(obj: Context, name: str) -> None:
    """Remove NAME; their open sessions end."""
    _run(_store(obj), "rm", name)
    click.echo(f"User {name} is removed.")


@users_group.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def users_ls(obj: Context, as_json: bool) -> None:
    """The users, by name."""
    store = _store(obj)
    try:
        users = store.all()
    except sqlite3.Error as exc:
        raise click.ClickException(f"the users could not be read: {exc}") from None
    finally:
        store.conn.close()
    if as_json:
        emit_json(
            [
                {
                    "name": u.name,
                    "created": when(u.created_at),
                    "password_changed": when(u.password_changed_at),
                }
                for u in users
            ]
        )
        return
    for user in users:
        click.echo(f"{user.name:<24} added {when(user.created_at)}")
    if not users:
        click.echo("No users yet: add one with 'appliance users add NAME'.")


def registered() -> click.Group:
    return users_group
