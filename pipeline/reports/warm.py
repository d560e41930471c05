"""A warm report process (the web page's worker): what its first build would otherwise pay, paid at start, and a
helper process on the second core for the charts, the workbooks and the Word draft of each set.

* :func:`warm_up` does all of it and keeps the other cycles' figures of a comparison for the next set
  (:func:`pipeline.reports.comparison.keep_results`).
* :func:`render_tiny` renders a tiny PDF, a chart, a Word and an Excel file in memory: fonts found and loaded,
  the report template compiled, matplotlib's font cache read (nothing is written).
* :func:`start_helper` forks the helper. Only while the process is still single-threaded and has no DuckDB
  connection (a fork copies one thread only: a lock held by another thread would stay locked in the copy); the
  helper opens its own read-only connection per task.
"""

from __future__ import annotations

import atexit
import io
import os
import signal
import threading

_HELPER: dict = {}  # "worker": the helper's Worker, "pid": its process id


def warm_up() -> None:
    from pipeline import gc_pause
    from pipeline.reports import comparison

    render_tiny()
    comparison.keep_results()
    gc_pause.freeze_imports()
    start_helper()


def render_tiny() -> None:
    """Load what a report build loads, by building tiny documents in memory."""
    from docx import Document
    from matplotlib.figure import Figure
    from openpyxl import Workbook

    from pipeline import catalogue, model
    from pipeline.reports import charts, pdf

    catalogue.indicators()
    model.label_lists()
    pdf._env().get_template("project_report.html.j2")
    fig = Figure(figsize=(2.0, 1.0))
    fig.add_subplot().bar(["Ä"], [1])
    chart = charts.Chart("warm", fig, "Aufwärmen", (2.0, 1.0))
    chart.png()
    pdf.html_to_pdf(  # the chart as the report has it: a placeholder whose chart is fetched when drawn
        '<!DOCTYPE html><html lang="de"><head><title>Aufwärmen</title></head><body><h1>Aufwärmen</h1>'
        '<p class="note">Grüße</p><table><thead><tr><th>Kennung</th><th class="n">Wert</th></tr></thead>'
        '<tbody><tr><td>K01</td><td class="n">1</td></tr></tbody></table>'
        f'<div class="chart">{pdf._placeholder("warm", chart)}</div></body></html>',
        pdf.chart_fetcher(lambda key: chart.svg()),
    )
    Document().save(io.BytesIO())
    Workbook().save(io.BytesIO())


def _single_threaded() -> bool:
    try:
        return threading.active_count() == 1 and len(os.listdir("/proc/self/task")) == 1
    except OSError:  # no /proc: not Linux, no fork of a process with native libraries loaded
        return False


def start_helper() -> bool:
    """Fork the helper (once); False when there is no second core, or forking is not safe here."""
    import multiprocessing

    from pipeline import worker

    if _HELPER or not worker.enabled() or not _single_threaded():
        return bool(_HELPER)
    mine, theirs = multiprocessing.Pipe()
    pid = os.fork()
    if pid == 0:  # the helper: answer tasks until the worker closes the pipe or ends
        mine.close()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        try:
            _die_with_parent()
            worker._run_tasks(theirs)
        except BaseException:  # noqa: BLE001 - Ctrl-C or a broken pipe: just end
            pass
        finally:
            worker._fast_exit(0)
    theirs.close()
    helper = worker.Worker(mine)
    helper._pid = pid
    _HELPER.update(worker=helper, pid=pid)
    atexit.register(_stop_helper)
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_term)
    return True


def _on_term(signum, frame) -> None:
    """SIGTERM (the server stopping, a job stopped): end and reap the helper first, so that no orphan of the
    server's process group is left, then end as SIGTERM would have."""
    pid = _HELPER.get("pid")
    if pid is not None:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _die_with_parent() -> None:
    """Linux: the helper gets SIGTERM when the worker ends, however it ends (a killed job included)."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def helper():
    """The helper's Worker when it is alive, else None (the set is then written in one process)."""
    pid = _HELPER.get("pid")
    if pid is None:
        return None
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        done = pid
    if done:
        _HELPER.clear()
        return None
    return _HELPER["worker"]


def _stop_helper() -> None:
    w, pid = _HELPER.get("worker"), _HELPER.get("pid")
    _HELPER.clear()
    if w is None:
        return
    w.close()
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
