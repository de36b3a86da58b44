"""``tweenlab serve``, ``tweenlab db upgrade`` and ``tweenlab user create``: run the team server.

SQLAlchemy, FastAPI and uvicorn are imported inside the commands, so the other commands (and
``--help``) never load them. The CLI does not import the server package (the layers forbid it):
``serve`` hands uvicorn the import path of ``app_from_environment``, which reads its settings
from ``TWEENLAB_*`` like every entry point; ``--data`` sets ``TWEENLAB_DATA_DIR`` for it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import click

from tweenlab.cli._ui import Context
from tweenlab.errors import UsageError
from tweenlab.services import database

__all__ = ["db_group", "default_max_workers", "serve_command", "user_group"]

APP_FACTORY = "tweenlab.server:app_from_environment"


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--data",
    type=click.Path(path_type=Path, file_okay=False),
    help="Data folder (database, media) [TWEENLAB_DATA_DIR].",
)
@click.option(
    "--demo",
    is_flag=True,
    help="Load the demo project (migrating the database first) and print how to sign in.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help=(
        "Server processes sharing the port and the database, forked from one that loaded the "
        "app (each runs its own jobs; on SQLite their writers queue on <database>-lock)."
    ),
)
@click.option(
    "--max-workers",
    type=click.IntRange(1, 64),
    default=None,
    help=(
        "With one process: start more, up to this many in all, while it is busy (each a fresh "
        "process given the port; it ends after 30 s without a request). The server idles at "
        "one process's memory and uses more cores under load. Default: 2 on a machine with "
        "two cores or more (1 with --workers N); 1 turns it off."
    ),
)
@click.pass_obj
def serve_command(
    ctx: Context,
    host: str,
    port: int,
    data: Path | None,
    demo: bool,
    workers: int,
    max_workers: int | None,
) -> None:
    """Run the REST API and the browser app on uvicorn."""
    if max_workers is not None and max_workers > 1 and workers > 1:
        raise UsageError(
            "--max-workers starts processes while one is busy; with --workers N all N run "
            "from the start: choose one of them"
        )
    max_workers = (
        default_max_workers(workers, os.cpu_count()) if max_workers is None else max_workers
    )
    import uvicorn  # noqa: PLC0415  (loaded only by this command)

    settings = ctx.settings
    if data is not None:
        os.environ["TWEENLAB_DATA_DIR"] = str(data.resolve())
        settings = settings.model_copy(update={"data_dir": data.resolve()})
    if demo:
        from tweenlab.services.demo_project import load_demo_project  # noqa: PLC0415

        loaded = load_demo_project(settings)
        click.echo(
            f"demo project {loaded.project_id} (video {loaded.video_id}): sign in as "
            f"{loaded.email} / {loaded.password}",
            err=True,
        )
    database.check_database(settings)  # a one-line error naming `tweenlab db upgrade`
    click.echo(
        f"tweenlab on http://{host}:{port}/ (editor and dashboard; the API at /api, its "
        "documentation at /api/docs)",
        err=True,
    )
    config = uvicorn.Config(  # uvloop and httptools (dependencies) are uvicorn's choice
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
    )
    from tweenlab.cli._prefork import STARTUP_FAILURE, serve_forked  # noqa: PLC0415

    if max_workers > 1:
        from tweenlab.cli._ondemand import serve_on_demand  # noqa: PLC0415

        status = serve_on_demand(config, max_workers)
    elif workers == 1:
        server = uvicorn.Server(config)
        with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the SIGINT it handled
            server.run()
        status = 0 if server.started else STARTUP_FAILURE
    else:
        status = serve_forked(config, workers)
    if status:
        raise SystemExit(status)


def default_max_workers(workers: int, cpus: int | None) -> int:
    """``--max-workers`` when it is not given: a second process while busy on a machine with
    two cores or more (idle, the server is one process), none beside ``--workers N``."""
    return 1 if workers > 1 or (cpus or 1) < 2 else 2


@click.group("db")
def db_group() -> None:
    """The server's database."""


@db_group.command("upgrade")
@click.pass_obj
def db_upgrade(ctx: Context) -> None:
    """Create or migrate the database to this version's schema."""
    revision = database.upgrade_database(ctx.settings)
    click.echo(f"database at revision {revision}")


@click.group("user")
def user_group() -> None:
    """Accounts of the server."""


@user_group.command("create")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice(["owner", "member"]),
    default="member",
    show_default=True,
    help="owner: site admin (creates accounts, sees every project); member: roles per project.",
)
@click.option("--name", default="", help="Display name [the part of EMAIL before @].")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_obj
def user_create(ctx: Context, email: str, role: str, name: str, password_stdin: bool) -> None:
    """Create an account; the first one is made with --role owner."""
    from tweenlab.services import accounts  # noqa: PLC0415  (loads SQLAlchemy)

    password = _read_password(password_stdin)
    with database.open_session(ctx.settings) as session:
        user = accounts.create_user(
            session, ctx.settings, email, password, name=name, admin=role == "owner"
        )
    click.echo(f"created {user.email} (id {user.id}, {role})")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UsageError("--password-stdin: standard input held no password")
        return password
    if not sys.stdin.isatty():
        raise UsageError("no terminal to ask for the password: use --password-stdin")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
