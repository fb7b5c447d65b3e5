"""Crash points for the crash tests: a named place where a test can have the process SIGKILLed.

`BOXOFFICE_TEST_CRASH_AT=payment.provider_answered` (with `BOXOFFICE_ENV=test`) kills the process the first
time it reaches that point, exactly as a power cut or an OOM kill would: no `finally`, no rollback, no
shutdown hook. Outside tests the check is one dictionary read.
"""

from __future__ import annotations

import os
import signal


def crash_point(name: str) -> None:
    """SIGKILL this process here when a crash test armed `name`."""
    if os.environ.get("BOXOFFICE_TEST_CRASH_AT") == name and os.environ.get("BOXOFFICE_ENV") == "test":
        os.kill(os.getpid(), signal.SIGKILL)
