"""The `boxoffice` command: serve, migrate, create-admin, demo and maintenance tasks."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from boxoffice.config import ConfigError, Settings, get_settings

app = typer.Typer(help="boxoffice: movie-ticket booking for cinema chains.", no_args_is_help=True)


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


def _serve_base_url(host: str, port: int) -> str:
    """The BASE_URL of a server bound to host:port (a wildcard bind is reached on loopback)."""
    shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104 - a name, not a bind
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    reload: Annotated[bool, typer.Option(help="Reload on code changes (development).")] = False,
) -> None:
    """Serve the web app and the API with uvicorn."""
    import uvicorn

    settings = get_settings()
    if not settings.base_url_given:  # links and the Host check follow the port actually served
        os.environ["BOXOFFICE_BASE_URL"] = _serve_base_url(host, port)  # workers read the environment
        get_settings.cache_clear()
        settings = get_settings()
    try:
        settings.resolve_secret_key()
        _check_payment_provider(settings)
    except ConfigError as exc:
        _fail(str(exc))
    if workers > 1 and settings.is_sqlite:
        typer.secho("Note: several workers on SQLite serialise writes; PostgreSQL scales better.", err=True)
    # Forwarded headers are believed only from the configured proxies (BOXOFFICE_FORWARDED_ALLOW_IPS, or
    # uvicorn's own FORWARDED_ALLOW_IPS); none by default, so a client cannot choose its address.
    trusted = settings.forwarded_allow_ips.strip() or os.environ.get("FORWARDED_ALLOW_IPS", "").strip()
    uvicorn.run(
        "boxoffice.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or None,
        # Honoured by the h11 parser; middleware.py bounds the headers whatever the parser.
        h11_max_incomplete_event_size=settings.max_header_bytes,
        timeout_graceful_shutdown=10,
        log_level=settings.log_level.lower(),
        access_log=False,
    )


def _check_payment_provider(settings: Settings) -> None:
    """Raise ConfigError when the configured payment provider cannot be built."""
    from boxoffice.main import build_payment_provider

    build_payment_provider(settings)


@app.command()
def migrate(revision: Annotated[str, typer.Argument(help="Target revision.")] = "heads") -> None:
    """Apply the database migrations (creates the SQLite file when needed)."""
    from boxoffice.migrate import upgrade

    settings = get_settings()
    if settings.is_sqlite:
        settings.var_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url, revision)
    typer.echo(f"database at {revision}: {_safe_url(settings.database_url)}")


def _safe_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@app.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(prompt=True, help="The admin's email address.")],
    full_name: Annotated[str, typer.Option(help="The admin's name.")] = "Administrator",
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input.")] = False,
) -> None:
    """Create an admin account; the password comes from a prompt or stdin, never the command line."""
    from boxoffice.accounts.commands import create_admin_account

    password = _read_password(password_stdin)
    try:
        asyncio.run(create_admin_account(get_settings(), email=email, password=password, full_name=full_name))
    except Exception as exc:
        _fail(f"could not create the admin: {getattr(exc, 'message', exc)}")
    typer.echo(f"admin {email} created")


@app.command()
def demo(
    if_empty: Annotated[bool, typer.Option(help="Only when the database has no users yet.")] = False,
) -> None:
    """Load the demo data: accounts, cinemas, movies, a week of showtimes (idempotent)."""
    from boxoffice.demo import load_demo

    summary = asyncio.run(load_demo(get_settings(), only_if_empty=if_empty))
    typer.echo(summary)


@app.command()
def sweep() -> None:
    """Reconcile payments left pending, free seats whose hold expired, expire their bookings, and send
    the refunds owed (the app also does all of this itself)."""
    from boxoffice.booking.sweeper import sweep_command

    done = asyncio.run(sweep_command(get_settings()))
    typer.echo(
        f"reconciled {done.reconciled or 'no'} payments, freed {done.freed} seats, "
        f"expired {done.expired} bookings, sent {done.refunds_sent} refunds"
    )


@app.command()
def backup(
    destination: Annotated[
        Path | None, typer.Argument(help="Backup file, or a directory for it (default var/backups/).")
    ] = None,
) -> None:
    """Back up the database: SQLite online backup (checked), or pg_dump for PostgreSQL."""
    from boxoffice.ops.backup import BackupError
    from boxoffice.ops.backup import backup as run_backup

    settings = get_settings()
    destination = destination or settings.var_dir / "backups"
    if not destination.suffix:
        destination.mkdir(parents=True, exist_ok=True)
    try:
        result = run_backup(settings.database_url, destination)
    except BackupError as exc:
        _fail(str(exc))
        return
    typer.echo(f"backup written: {result.path} ({result.size_bytes} bytes, integrity ok)")


@app.command()
def restore(
    backup_file: Annotated[Path, typer.Argument(help="A file written by `boxoffice backup`.")],
    force: Annotated[
        bool, typer.Option(help="Replace the existing database (stop the server first).")
    ] = False,
) -> None:
    """Restore the database from a backup; refuses to replace existing data without --force."""
    from boxoffice.ops.backup import BackupError
    from boxoffice.ops.backup import restore as run_restore

    try:
        result = run_restore(backup_file, get_settings().database_url, force=force)
    except BackupError as exc:
        _fail(str(exc))
        return
    typer.echo(f"restored from {result.path}; integrity ok")


if __name__ == "__main__":  # pragma: no cover
    app()
