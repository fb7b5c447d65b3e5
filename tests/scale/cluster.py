"""A two-node boxoffice cluster on loopback: two app processes behind Debian's nginx, one PostgreSQL, Redis.

nginx runs with its own configuration in a temp dir (`nginx -c <file> -p <dir>`, `daemon off`), built
around the shipped `deploy/nginx/boxoffice.conf` template; the system nginx is never touched.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SITE_TEMPLATE = ROOT / "deploy" / "nginx" / "boxoffice.conf"

MAIN_CONF = """\
daemon off;
master_process on;
worker_processes 1;
{user}
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {dir}/boxoffice.conf;
}}
"""


def find_nginx() -> str | None:
    """Debian's nginx binary, if installed."""
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def render_site(*, listen: str, upstreams: list[str], extra: str = "", server_name: str = "localhost") -> str:
    """The deploy/nginx/boxoffice.conf template with its placeholders filled in."""
    servers = "\n".join(f"    server {u} max_fails=2 fail_timeout=5s;" for u in upstreams)
    values = {"listen": listen, "server_name": server_name, "upstream_servers": servers, "extra": extra}
    out = []
    for line in SITE_TEMPLATE.read_text().splitlines():
        if not line.lstrip().startswith("#"):  # the header comment names the placeholders
            for key, value in values.items():
                line = line.replace("{{" + key + "}}", value)
            assert "{{" not in line, f"unfilled placeholder in the nginx template: {line}"
        out.append(line)
    return "\n".join(out) + "\n"


@dataclass
class Nginx:
    """A private nginx process in `workdir`, listening on a free loopback port."""

    binary: str
    workdir: Path
    upstreams: list[str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the balancer."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Write the configuration, check it with `nginx -t`, start nginx, wait for its port."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        site = render_site(
            listen=f"127.0.0.1:{self.port}",
            upstreams=self.upstreams,
            extra="    add_header X-Upstream $upstream_addr always;",
        )
        (self.workdir / "boxoffice.conf").write_text(site)
        user = "user root;" if os.geteuid() == 0 else ""
        conf = self.workdir / "nginx.conf"
        conf.write_text(MAIN_CONF.format(dir=self.workdir, user=user))
        args = [self.binary, "-c", str(conf), "-p", str(self.workdir)]
        check = subprocess.run([*args, "-t"], capture_output=True, text=True, check=False)
        if check.returncode != 0:
            raise RuntimeError(f"nginx -t failed: {check.stderr}")
        self.proc = subprocess.Popen(args, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.proc.stderr.read() if self.proc.stderr else ''!r}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("nginx did not open its port")

    def stop(self) -> None:
        """Graceful stop (SIGQUIT), then kill if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGQUIT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
