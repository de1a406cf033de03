"""Worker processes that never outlive the job that started them.

The process that starts a job (`run.py`, or `comparison.run_all` called from Python) records its process id in the
environment variable `MIGRATION_SIMULATOR_JOB_PID`, which the worker processes it starts inherit. A worker (a direct
child of that process: a joblib/loky worker of a comparison, or of a sweep on the `cores` launcher) calls
`watch_parent()` before it works: it then ignores Ctrl-C, which the job itself handles by stopping its workers, and
exits at once if the job process is gone (killed with SIGKILL, say), instead of computing on for minutes. Jobs of a
cluster launcher (Slurm, Ray) are children of the cluster's own daemons, which manage them; they are left alone.

Example:
    >>> mark_job_process()
    >>> os.environ[JOB_PID] == str(os.getpid())
    True
    >>> watch_parent()   # in the job process itself: nothing to watch
    False
"""

from __future__ import annotations

import atexit
import gc
import os
import signal
import threading
import time

JOB_PID = "MIGRATION_SIMULATOR_JOB_PID"
POLL_S = 0.5   # how often a worker looks for its parent

_watching = False


def mark_job_process() -> None:
    """Record this process as the job process whose workers watch it (a worker that is itself watching its own
    job process keeps that one)."""
    if not _watching:
        os.environ[JOB_PID] = str(os.getpid())


def watch_parent() -> bool:
    """In a worker of the job process: ignore SIGINT and exit when the job process is gone. Returns whether this
    process is such a worker (and is now watching)."""
    global _watching
    pid = os.environ.get(JOB_PID, "")
    if not pid.isdigit() or int(pid) == os.getpid() or os.getppid() != int(pid):
        return _watching
    if not _watching:
        _watching = True
        exit_fast()
        parent = int(pid)
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        threading.Thread(target=_exit_when_gone, args=(parent,), name="watch-parent", daemon=True).start()
    return True


def _exit_when_gone(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(POLL_S)
    os._exit(1)   # the job process is gone: nobody will read this worker's results


def exit_fast() -> None:
    """Let this process exit without collecting its cyclic garbage: `gc.freeze()` as the last exit handler. With
    the simulator's modules loaded (numba's compiler, xarray, matplotlib), that collection takes about half a second
    of every process's exit, the job's and each worker's, and frees only memory the operating system takes back
    anyway. Exit handlers run as usual, and objects freed by reference counting (an open file, say) still are."""
    atexit.register(gc.freeze)   # handlers run last registered first: this one after those registered later

