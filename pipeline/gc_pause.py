"""Python's cyclic garbage collector paused around report rendering.

WeasyPrint and matplotlib allocate hundreds of thousands of small objects while laying out a report; each
allocation burst triggers collections that walk every live object of the process (the imported libraries, the
DuckDB results). Measured on the Sachbericht PDF: about a fifth of its layout time. A report set's garbage is
bounded (a few dozen MB), so collecting once afterwards costs far less than collecting all the time.
"""

from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def paused():
    """No automatic collection inside the block (nested use is fine); the collector resumes as it was."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def after_answer(task):
    """Mark a worker task whose collector stays paused until its answer has gone back to the caller
    (:func:`pipeline.worker._run_tasks`): the set's garbage is then collected while the worker is idle, not
    while the page waits for the answer. Called directly (not in a worker), the task is unchanged."""
    task.gc_after_answer = True
    return task


def freeze_imports() -> None:
    """Move every object alive now (the imported modules) out of the collector's sight: later collections
    no longer walk them. Called once a long-lived process has imported what it needs."""
    gc.collect()
    gc.freeze()
