"""Build functions of the test renderers. The render child imports this module to run them: stdlib only."""

from __future__ import annotations

import os
import time
from pathlib import Path


def text(content: str) -> bytes:
    """The content as UTF-8."""
    return content.encode()


def pid() -> bytes:
    """The pid of the process that runs the build."""
    return str(os.getpid()).encode()


def hang_first_time(marker: str) -> bytes:
    """First call: write this process's pid to `marker` and hang (until killed); later calls: the pid."""
    path = Path(marker)
    if not path.exists():
        written = path.with_suffix(".tmp")
        written.write_text(str(os.getpid()))
        written.replace(path)  # whole, never half written
        time.sleep(60)
    return pid()
