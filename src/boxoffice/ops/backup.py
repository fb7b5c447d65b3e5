"""Backups and restores: SQLite through its online backup API, PostgreSQL through pg_dump / pg_restore.

SQLite: `sqlite3.Connection.backup` copies a consistent snapshot of a live database (in WAL mode writers
keep going while it runs) into a temporary file; the copy must pass `PRAGMA integrity_check` before it is
renamed into place, so a backup file that exists is a good one. A restore checks the backup first, refuses
to replace an existing database unless told (`force`), keeps the replaced database beside it
(`<name>.pre-restore-<stamp>`), and copies the backup in through the same backup API, which takes SQLite's
locks: a server that still has the file open sees the restored data on its next transaction instead of a
file swapped under its feet.

PostgreSQL: a custom-format `pg_dump` (consistent snapshot, no lock on writers) and `pg_restore --clean`.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from boxoffice.kit.clock import utc_now


class BackupError(RuntimeError):
    """A backup or restore could not be done; the message says why and what to do."""


@dataclass(frozen=True)
class BackupResult:
    """What a backup or restore produced."""

    path: Path
    size_bytes: int
    tables: int
    rows: int


def sqlite_path(database_url: str) -> Path | None:
    """The file of a `sqlite...:///path` URL, or None for another database (or an in-memory one)."""
    if not database_url.startswith("sqlite"):
        return None
    rest = database_url.split(":///", 1)[1] if ":///" in database_url else ""
    rest = rest.split("?", 1)[0]
    if not rest or rest == ":memory:":
        return None
    return Path(unquote(rest))


def _open_existing(path: Path) -> sqlite3.Connection:
    """A connection that will not create `path` and will not write to it."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=30)
    conn.execute("PRAGMA query_only=ON")
    return conn


def integrity_check(path: Path) -> str:
    """`PRAGMA integrity_check` of the SQLite file at `path` ("ok" when sound)."""
    if not path.is_file():
        raise BackupError(f"{path} does not exist")
    try:
        conn = _open_existing(path)
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return f"not a usable SQLite database: {exc}"
    return "; ".join(str(r[0]) for r in rows)


def _count(conn: sqlite3.Connection) -> tuple[int, int]:
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    rows = 0
    for name in names:
        quoted = '"' + name.replace('"', '""') + '"'
        rows += int(conn.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0])  # noqa: S608
    return len(names), rows


def _checked(path: Path) -> BackupResult:
    verdict = integrity_check(path)
    if verdict != "ok":
        raise BackupError(f"{path} failed the integrity check: {verdict}")
    conn = _open_existing(path)
    try:
        tables, rows = _count(conn)
    finally:
        conn.close()
    return BackupResult(path=path, size_bytes=path.stat().st_size, tables=tables, rows=rows)


def backup_sqlite(source: Path, destination: Path) -> BackupResult:
    """Copy the live SQLite database `source` to `destination` (a file, or a directory to put it in)."""
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    if destination.is_dir():
        destination = destination / f"{source.stem}-{utc_now():%Y%m%dT%H%M%SZ}.db"
    if destination.exists():
        raise BackupError(f"{destination} already exists; choose another name")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    src = _open_existing(source)
    try:
        dst = sqlite3.connect(partial)
        try:
            # One step: the whole copy is read inside one read transaction, a consistent snapshot.
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode=DELETE")  # a self-contained single file
        finally:
            dst.close()
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"backup of {source} failed: {exc}") from exc
    finally:
        src.close()
    try:
        _checked(partial)
    except BackupError:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, destination)
    return _checked(destination)


def restore_sqlite(backup: Path, target: Path, *, force: bool = False) -> BackupResult:
    """Restore the SQLite backup file `backup` into `target`; an existing target needs `force`."""
    _checked(backup)
    if target.exists():
        if not force:
            raise BackupError(
                f"{target} exists (perhaps in use); pass --force to replace it "
                "(the current file is kept beside it as .pre-restore-<time>)"
            )
        keep = target.with_name(f"{target.name}.pre-restore-{utc_now():%Y%m%dT%H%M%S%fZ}")
        backup_sqlite(target, keep)
    target.parent.mkdir(parents=True, exist_ok=True)
    src = _open_existing(backup)
    try:
        dst = sqlite3.connect(target, timeout=30)
        try:
            src.backup(dst, pages=-1)
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise BackupError(f"restore into {target} failed: {exc}") from exc
    finally:
        src.close()
    return _checked(target)


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    if candidates:
        return str(candidates[0])
    raise BackupError(
        f"{name} not found: install the PostgreSQL client tools (same major version as the server)"
    )


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    # A fixed PostgreSQL tool with arguments from the operator's own configuration, never a shell.
    return subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603


def libpq_url(database_url: str) -> str:
    """A SQLAlchemy PostgreSQL URL (`postgresql+asyncpg://...`) as a plain libpq URL."""
    parts = urlsplit(database_url)
    if not parts.scheme.startswith("postgresql"):
        raise BackupError("not a PostgreSQL URL")
    return parts._replace(scheme="postgresql").geturl()


def backup_postgres(database_url: str, destination: Path) -> BackupResult:
    """`pg_dump --format=custom` of the database into `destination` (a file, or a directory)."""
    if destination.is_dir():
        destination = destination / f"boxoffice-{utc_now():%Y%m%dT%H%M%SZ}.dump"
    if destination.exists():
        raise BackupError(f"{destination} already exists; choose another name")
    partial = destination.with_name(destination.name + ".partial")
    cmd = [_pg_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={partial}", libpq_url(database_url)]
    done = _run(cmd)
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
    listing = _run([_pg_tool("pg_restore"), "--list", str(partial)])
    if listing.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"the dump is unreadable: {listing.stderr.strip()}")
    os.replace(partial, destination)
    tables = sum(1 for line in listing.stdout.splitlines() if " TABLE DATA " in line)
    return BackupResult(path=destination, size_bytes=destination.stat().st_size, tables=tables, rows=-1)


def restore_postgres(backup: Path, database_url: str, *, force: bool = False) -> BackupResult:
    """`pg_restore --clean` of a custom-format dump into the database; replacing data needs `force`."""
    if not force:
        raise BackupError("restoring replaces every table of the target database; pass --force to go ahead")
    if not backup.is_file():
        raise BackupError(f"{backup} does not exist")
    cmd = [
        _pg_tool("pg_restore"),
        "--clean",
        "--if-exists",
        "--no-owner",
        "--single-transaction",
        "--exit-on-error",
        f"--dbname={libpq_url(database_url)}",
        str(backup),
    ]
    done = _run(cmd)
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed (nothing was changed): {done.stderr.strip()}")
    return BackupResult(path=backup, size_bytes=backup.stat().st_size, tables=-1, rows=-1)


def backup(database_url: str, destination: Path) -> BackupResult:
    """Back up the database at `database_url` into `destination` (file or directory)."""
    path = sqlite_path(database_url)
    if path is not None:
        return backup_sqlite(path, destination)
    if database_url.startswith("postgresql"):
        return backup_postgres(database_url, destination)
    raise BackupError("only SQLite files and PostgreSQL databases can be backed up")


def restore(backup_file: Path, database_url: str, *, force: bool = False) -> BackupResult:
    """Restore `backup_file` into the database at `database_url`."""
    path = sqlite_path(database_url)
    if path is not None:
        return restore_sqlite(backup_file, path, force=force)
    if database_url.startswith("postgresql"):
        return restore_postgres(backup_file, database_url, force=force)
    raise BackupError("only SQLite files and PostgreSQL databases can be restored")
