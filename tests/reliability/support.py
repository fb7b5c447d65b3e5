"""Shared helpers of the reliability suite: real server processes, seeded actors, private PostgreSQL."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.conftest import TEST_SECRET

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(database_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a boxoffice server under test (same secret as the in-process tests)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    env.update(
        {
            "BOXOFFICE_ENV": "test",
            "BOXOFFICE_DATABASE_URL": database_url,
            "BOXOFFICE_SECRET_KEY": TEST_SECRET,
            "BOXOFFICE_VAR_DIR": str(var_dir),
            "BOXOFFICE_LOG_LEVEL": "WARNING",
            "BOXOFFICE_ACCESS_TOKEN_MINUTES": "1440",
        }
    )
    env.update({f"BOXOFFICE_{k.upper()}": v for k, v in extra.items()})
    return env


@dataclass
class Server:
    """A `uvicorn boxoffice.main:create_app` process on a free port."""

    env: dict[str, str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:<port>"""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> None:
        """Start the process and wait until /healthz answers."""
        self.log_path = Path(self.env["BOXOFFICE_VAR_DIR"]) / f"server-{self.port}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        cmd = [sys.executable, "-m", "uvicorn", "boxoffice.main:create_app", "--factory"]
        cmd += ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if httpx.get(self.base_url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start:\n{self.log()}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send `sig` (SIGKILL by default: no cleanup at all) and reap the process."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=20)

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), then kill if it hangs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def raw_log(self) -> str:
        """Everything the server printed."""
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def log(self) -> str:
        """What the server printed (tracebacks folded to their last line), the last 60 lines."""
        if not self.log_path:
            return ""
        lines = [
            ln for ln in self.log_path.read_text(errors="replace").splitlines() if not ln.startswith(" ")
        ]
        return "\n".join(lines[-60:])


@contextmanager
def running_server(env: dict[str, str]) -> Iterator[Server]:
    """A started server, stopped afterwards."""
    server = Server(env=env)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the `postgres` system user."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@dataclass
class PrivateCluster:
    """A throw-away PostgreSQL cluster in a temp dir on a free port: safe to stop and restart."""

    root: Path
    port: int = field(default_factory=free_port)

    @property
    def data(self) -> Path:
        """The data directory."""
        return self.root / "data"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of its `boxoffice` database."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/boxoffice"

    def _pg(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(_as_postgres([*args]), capture_output=True, text=True, check=check, timeout=120)

    def init(self) -> None:
        """initdb (trust auth, no fsync: it is a test) and createdb."""
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._pg(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start()
        self._pg(
            str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "boxoffice"
        )

    def start(self) -> None:
        """pg_ctl start, waiting until it accepts connections."""
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off -k {self.root}"
        self._pg(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            opts,
            "-l",
            str(self.root / "pg.log"),
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """pg_ctl stop (`immediate` is a crash: no shutdown checkpoint)."""
        self._pg(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False)


@contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    """A private PostgreSQL cluster, removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="bo-pg-"))
    cluster = PrivateCluster(root=root)
    try:
        cluster.init()
        yield cluster
    finally:
        cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
