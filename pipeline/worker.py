"""A second process for ``run``: it imports the heavy libraries while the main process ingests, then does
part of the report work in parallel with it (issue 7: two cores, one project in well under 10 s).

The worker is started with the ``spawn`` method, so it shares nothing with the main process (no DuckDB
instance, no threads); it opens the database read-only, only after the main process has closed its write
connection (DuckDB allows several read-only processes, but not next to a writer).

A task is a function of this package given by module and name (picklable). Its return value comes back to
the caller; an exception raised in the worker is raised again in the caller, so the CLI reports it exactly
as if the work had run in the main process (``_friendly``: one clear message, no traceback).
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import pickle
import traceback
from typing import Any

PARALLEL_ENV = "ESF_PIPELINE_PARALLEL"  # "0": no worker, everything in the main process
# imported by the worker while the main process ingests (~1.2 s, most of it WeasyPrint and matplotlib)
PRELOAD = (
    "duckdb",
    "weasyprint",
    "pipeline.indicators",
    "pipeline.reports",
    "pipeline.reports.charts",
    "pipeline.reports.pdf",
    "pipeline.reports.esf_submission",
    "pipeline.reports.project_workbook",
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


def _serve(conn, preload: tuple[str, ...]) -> None:
    """Worker main loop: import ``preload``, then run tasks until told to stop (None) or the pipe closes."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    try:
        for name in preload:
            try:
                importlib.import_module(name)
            except ImportError:
                pass  # the task itself reports what is missing
        while True:
            try:
                task = conn.recv()
            except EOFError:
                return
            if task is None:
                return
            module, func, args, kwargs = task
            try:
                value = getattr(importlib.import_module(module), func)(*args, **kwargs)
                conn.send(("ok", value))
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
    except KeyboardInterrupt:
        return
    finally:
        conn.close()
        _fast_exit(0)


def _fast_exit(code: int) -> None:
    """End the process without the interpreter's teardown (~0.6 s with GX, WeasyPrint and matplotlib
    imported: thousands of modules freed one by one). Exit handlers still run; every output file is
    written and closed by then."""
    import atexit
    import sys

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
    """One spawned worker process; ``submit`` a task, later take its ``result``; always ``close``."""

    def __init__(self, preload: tuple[str, ...] = PRELOAD):
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, preload), name="esf-pipeline-worker", daemon=True)
        self._proc.start()
        child.close()
        self._busy = False

    def submit(self, module: str, func: str, *args: Any, **kwargs: Any) -> None:
        if self._busy:
            raise RuntimeError("worker is busy")
        try:
            self._conn.send((module, func, args, kwargs))
        except (BrokenPipeError, OSError):
            raise self._died() from None
        self._busy = True

    def result(self) -> Any:
        """The return value of the submitted task, or its exception raised here (traceback text as a note)."""
        try:
            answer = self._conn.recv()
        except (EOFError, OSError):
            raise self._died() from None
        finally:
            self._busy = False
        if answer[0] == "ok":
            return answer[1]
        _, payload, tb = answer
        exc = pickle.loads(payload)
        exc.add_note("Im Berichtsprozess (worker):\n" + tb)
        raise exc

    def _died(self) -> WorkerDied:
        self._proc.join(timeout=5)
        return WorkerDied(f"Der Berichtsprozess wurde unerwartet beendet (Exit-Code {self._proc.exitcode}).")

    def close(self, timeout: float = 10.0) -> None:
        """Stop the worker: politely when idle, terminated when it is still busy (the run failed)."""
        if self._proc.is_alive():
            if self._busy:
                self._proc.terminate()
            else:
                try:
                    self._conn.send(None)
                except (BrokenPipeError, OSError):
                    pass
            self._proc.join(timeout)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join()
        self._conn.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
