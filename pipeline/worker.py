"""Worker processes for ``run``: they import the heavy libraries while the main process ingests, then do
report work in parallel with it (issue 7: both cores for one project).

One worker is a new interpreter (``python -c``), so it shares nothing with the main process (no DuckDB
instance, no threads). After its imports it forks the further workers from itself: they share the
imported modules instead of importing them again (a second import cost the ingest ~0.6 s of CPU). A
worker opens the database read-only, only after the main process has closed its write connection
(DuckDB allows several read-only processes, but not next to a writer).

A task is a function given by module and name (picklable arguments). Its return value comes back to the
caller; an exception raised in the worker is raised again in the caller, so the CLI reports it exactly
as if the work had run in the main process (``_friendly``: one clear message, no traceback).
"""

from __future__ import annotations

import gc
import importlib
import json
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

from pipeline import gc_pause

PARALLEL_ENV = "ESF_PIPELINE_PARALLEL"  # "0": no worker, everything in the main process
# imported by the worker while the main process ingests (~1.2 s, most of it WeasyPrint and matplotlib)
PRELOAD = (
    "pipeline.runs",
    "duckdb",
    "weasyprint",
    "pipeline.indicators",
    "pipeline.reports",
    "pipeline.reports.charts",
    "pipeline.reports.pdf",
    "pipeline.reports.esf_submission",
    "pipeline.reports.project_workbook",
    "pipeline.reports.word",
)


class WorkerFailed(RuntimeError):
    """The worker raised an exception that cannot be sent back as it is; carries its type name."""

    def __init__(self, type_name: str, message: str):
        super().__init__(type_name, message)
        self.type_name = type_name
        self.message = message

    def __str__(self) -> str:
        return f"{self.type_name}: {self.message}"


class WorkerDied(RuntimeError):
    """The worker process ended without an answer (killed, out of memory, crashed)."""


def enabled() -> bool:
    """Workers on (default) unless switched off or there is only one core to run them on."""
    if os.environ.get(PARALLEL_ENV, "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return cores > 1


def _run_tasks(conn) -> None:
    """Answer tasks on ``conn`` until told to stop (None) or the pipe closes.

    A task marked :func:`pipeline.gc_pause.after_answer` runs with the collector paused, and stays so until its
    answer went back and no further task is queued: then the worker collects, while idle."""
    held = False  # the collector paused here for a marked task
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        module, func, args, kwargs = task
        try:
            fn = getattr(importlib.import_module(module), func)
            if getattr(fn, "gc_after_answer", False):
                if gc.isenabled():
                    gc.disable()
                    held = True
            elif held:
                gc.enable()
                held = False
            conn.send(("ok", fn(*args, **kwargs)))
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the caller
            if isinstance(exc, KeyboardInterrupt):
                return
            tb = traceback.format_exc()
            try:
                payload = pickle.dumps(exc)
                pickle.loads(payload)  # must also load on the other side
                conn.send(("raise", payload, tb))
            except Exception:  # noqa: BLE001 - an exception that does not pickle
                conn.send(("raise", pickle.dumps(WorkerFailed(type(exc).__name__, str(exc))), tb))
        if held and conn.poll():
            continue  # the next task is queued already: collect after it
        if held:
            gc.enable()
            held = False
        gc.collect()  # a report's garbage (its collector was paused), collected while idle


def _serve(conns: list, preload: tuple[str, ...]) -> None:
    """Worker main: import ``preload`` once, then fork one copy per further connection (the copies share
    the imports instead of importing again, which would compete with the ingest for the CPU), announce
    the pid on each connection and answer tasks."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    # no OpenBLAS thread pool (numpy starts one on import): the process must be single-threaded to fork
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    children: list[int] = []
    mine = conns[0]
    try:
        for name in preload:
            try:
                importlib.import_module(name)
            except ImportError:
                pass  # the task itself reports what is missing
        gc_pause.freeze_imports()  # later collections skip the imported modules; forks share them untouched
        # no DuckDB connection and no other thread exist in this process yet: forking is safe here
        for conn in conns[1:]:
            pid = os.fork()
            if pid == 0:
                children = []
                for other in conns:
                    if other is not conn:
                        other.close()
                mine = conn
                break
            children.append(pid)
            conn.close()
        mine.send(("ready", os.getpid()))
        _run_tasks(mine)
    except KeyboardInterrupt:
        return
    finally:
        mine.close()
        for pid in children:  # their CPU time is accounted to this process, no zombies
            try:
                os.waitpid(pid, 0)
            except (ChildProcessError, KeyboardInterrupt):
                pass
        _fast_exit(0)


def _fast_exit(code: int) -> None:
    """End the process without the interpreter's teardown (~0.6 s with GX, WeasyPrint and matplotlib
    imported: thousands of modules freed one by one). Exit handlers still run; every output file is
    written and closed by then."""
    import atexit

    try:
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (AttributeError, OSError, ValueError):
                pass
        os._exit(code)


class Worker:
    """The caller's end of one worker process: ``submit`` a task, later take its ``result``. Tasks may be queued
    (``queue=True``): the worker runs them one after the other and the results come back in that order."""

    def __init__(self, conn, process=None):
        self._conn = conn
        self._proc = process  # the started interpreter (Popen); None for a forked copy (its child)
        self._pid: int | None = None
        self._pending = 0  # tasks submitted whose result was not taken yet
        self._stopped = False

    def submit(self, module: str, func: str, *args: Any, queue: bool = False, **kwargs: Any) -> None:
        if self._pending and not queue:
            raise RuntimeError("worker is busy")
        try:
            self._conn.send((module, func, args, kwargs))
        except (BrokenPipeError, OSError):
            raise self._died() from None
        self._pending += 1

    def _recv(self):
        while True:
            answer = self._conn.recv()
            if answer[0] != "ready":
                return answer
            self._pid = answer[1]

    def result(self) -> Any:
        """The return value of the oldest submitted task, or its exception raised here (traceback text as a
        note)."""
        try:
            answer = self._recv()
        except (EOFError, OSError):
            self._pending = 0
            raise self._died() from None
        self._pending = max(self._pending - 1, 0)
        if answer[0] == "ok":
            return answer[1]
        _, payload, tb = answer
        exc = pickle.loads(payload)
        exc.add_note("Im Berichtsprozess (worker):\n" + tb)
        raise exc

    def _died(self) -> WorkerDied:
        code = ""
        if self._proc is not None:
            try:
                code = f" (Exit-Code {self._proc.wait(timeout=5)})"
            except subprocess.TimeoutExpired:
                pass
        return WorkerDied(f"Der Berichtsprozess wurde unerwartet beendet{code}.")

    def stop(self) -> None:
        """Ask the worker to end: politely when idle, with SIGTERM when it is still busy (the run failed)."""
        if self._stopped:
            return
        self._stopped = True
        if self._pending:
            try:
                if self._pid is None and self._conn.poll(1.0):
                    answer = self._conn.recv()  # the "ready" with the pid (the task has no answer yet)
                    if answer[0] == "ready":
                        self._pid = answer[1]
            except (EOFError, OSError):
                pass
            if self._pid is not None:
                try:
                    os.kill(self._pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            elif self._proc is not None:
                self._proc.terminate()
        else:
            try:
                self._conn.send(None)
            except (BrokenPipeError, OSError):
                pass

    def close(self, timeout: float = 10.0) -> None:
        self.stop()
        if self._proc is not None:
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._conn.close()


def start(n: int, preload: tuple[str, ...] = PRELOAD) -> list[Worker]:
    """``n`` workers: one new interpreter that imports ``preload`` and then forks the others from itself.

    A fresh ``python -c`` rather than multiprocessing's spawn: spawn imports the caller's ``__main__`` module
    again in the child, which runs a script without a ``__main__`` guard a second time.
    """
    pipes = [multiprocessing.Pipe() for _ in range(n)]
    fds = [child.fileno() for _, child in pipes]
    root = str(Path(__file__).resolve().parents[1])  # where ``pipeline`` is imported from
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    cmd = [sys.executable, "-c", "import sys, pipeline.worker as w; w._main(sys.argv[1:])", json.dumps([fds, preload])]
    proc = subprocess.Popen(cmd, pass_fds=fds, env=env, stdin=subprocess.DEVNULL)
    for _, child in pipes:
        child.close()
    return [Worker(conn, proc if i == 0 else None) for i, (conn, _) in enumerate(pipes)]


def _main(argv: list[str]) -> None:
    """Entry point of the worker interpreter (see :func:`start`)."""
    from multiprocessing.connection import Connection

    fds, preload = json.loads(argv[0])
    _serve([Connection(fd) for fd in fds], tuple(preload))


def close_all(workers: list[Worker]) -> None:
    """Stop every worker, the forked ones first (the spawned one waits for them before it exits)."""
    for w in workers:
        w.stop()
    for w in reversed(workers):
        w.close()
