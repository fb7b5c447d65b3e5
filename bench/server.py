"""Start and stop a real boxoffice server (`boxoffice serve`) on a loopback port; read its workers' RSS."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port nobody listens on right now (loopback)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(
    *, database_url: str, secret: str, var_dir: Path, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """Production-like settings: JSON logs at WARNING, an explicit secret, no outgoing email."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_") and k not in ("CI",)}
    env.update(
        {
            "BOXOFFICE_ENV": "production",
            "BOXOFFICE_DATABASE_URL": database_url,
            "BOXOFFICE_SECRET_KEY": secret,
            "BOXOFFICE_VAR_DIR": str(var_dir),
            "BOXOFFICE_LOG_LEVEL": "WARNING",
            "BOXOFFICE_ACCESS_TOKEN_MINUTES": "240",
            "BOXOFFICE_BASE_URL": "http://127.0.0.1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


class Server:
    """A `boxoffice serve --workers N` process group; use as a context manager."""

    def __init__(self, env: dict[str, str], *, workers: int, port: int | None = None, log: Path) -> None:
        self.env = env
        self.workers = workers
        self.port = port or free_port()
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        out = self.log.open("ab")
        cmd = [
            sys.executable,
            "-m",
            "boxoffice.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ]
        self.proc = subprocess.Popen(
            cmd, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        out.close()
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until /healthz answers on every worker (or fail with the server's log)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as resp:
                    if resp.status == 200 and len(self.worker_pids()) >= self.workers:
                        time.sleep(0.5)  # let the other workers finish their start-up
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready after {timeout}s:\n{self.log.read_text()[-3000:]}")

    def worker_pids(self) -> list[int]:
        """The processes serving requests: uvicorn's spawned workers, or the single process itself."""
        if self.proc is None:
            return []
        if self.workers == 1:
            return [self.proc.pid]
        return [pid for pid in _children(self.proc.pid) if "spawn_main" in _cmdline(pid)]

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the serving processes."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.worker_pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
            except (OSError, IndexError, ValueError):
                pass
        return total / tick

    def rss_mb(self) -> list[float]:
        """Resident memory of each worker, in MB."""
        return [round(_rss_kb(pid) / 1024, 1) for pid in self.worker_pids()]

    def children_rss_mb(self) -> list[float]:
        """Resident memory of the workers' own child processes (the outbox's render process and
        multiprocessing's resource tracker), in MB: the memory a worker moved out of itself."""
        return [round(_rss_kb(child) / 1024, 1) for pid in self.worker_pids() for child in _children(pid)]

    def __exit__(self, *exc: object) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def _children(pid: int) -> list[int]:
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        found: list[int] = []
        for task in tasks:
            text = (task / "children").read_text().split()
            found.extend(int(p) for p in text)
        return found
    except OSError:
        return []


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
