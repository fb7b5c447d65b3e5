"""The render process: the CPU-heavy build steps of email attachments run in a child process.

Every web worker runs the outbox sender, and fpdf2 (with Pillow and fontTools) adds ~35 MB to any process
that imports it, while drawing a PDF holds the GIL for tens of milliseconds. So each process owns at most
one child, started on first use and kept for the next emails, that imports those libraries and does the
work: `await run(function, *args)`. The call crosses a pipe, so `function` must be a module-level function
and `args` plain picklable data.

The child is spawned, never forked (a fork would copy the event loop, its threads and open sockets). It
ignores Ctrl-C, which the terminal sends to the whole process group: the app's shutdown stops it
(`shutdown`, from background.py). It exits by itself when its parent dies, even by SIGKILL, by watching
the pipe its parent holds open (`multiprocessing.parent_process().sentinel`). A child that dies mid-call
(killed, out of memory) breaks the pool: `run` raises `BrokenProcessPool` and the next call starts a new
child.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar, TypeVarTuple

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

_pool: ProcessPoolExecutor | None = None


def _exit_with_parent() -> None:
    """The child's initializer: ignore Ctrl-C, and exit as soon as the parent process is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is None:  # not a spawned child: nothing to watch
        return
    sentinel = parent.sentinel

    def watch() -> None:
        multiprocessing.connection.wait([sentinel])  # readable (EOF) once the parent's end is closed
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _current() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_exit_with_parent,
        )
    return _pool


async def run(function: Callable[[*Ts], T], *args: *Ts) -> T:
    """`function(*args)` in this process's render child (started on first use): its result or its error."""
    global _pool
    pool = _current()
    try:
        return await asyncio.get_running_loop().run_in_executor(pool, function, *args)
    except BrokenProcessPool:
        if _pool is pool:
            _pool = None  # the next call starts a new child
        pool.shutdown(wait=False)
        raise


async def shutdown() -> None:
    """Stop the render child if one was started: a build under way finishes, queued ones are cancelled."""
    global _pool
    pool, _pool = _pool, None
    if pool is not None:
        await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
