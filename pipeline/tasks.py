"""Jobs that a face starts in another process, with the same steps and history rows as the CLI commands.

* ``python -m pipeline.tasks ingest|validate`` with the configuration as JSON on stdin and the job id in
  ``ESF_PIPELINE_JOB_ID``: a child process of the web server (the server passes its own :class:`Config`,
  so a demo fallback or path override reaches the child unchanged).
* :func:`report_set` runs in a warm :mod:`pipeline.worker` process (imports paid once at server start). Its
  :func:`warm_up`, the worker's first task, renders a tiny document (fonts, template, chart and office libraries
  loaded) and forks a helper that draws the charts and writes the workbooks and the Word draft of each
  set while the worker writes the PDF (:func:`pipeline.reports.render_reports`), on the second core.

The steps are :mod:`pipeline.runs`; the lock and the history are :mod:`pipeline.jobs`.
"""

from __future__ import annotations

import os
import sys

from pipeline import gc_pause
from pipeline.config import Config
from pipeline.wording import count


def ingest(cfg: Config, job_id: str | None = None, face: str = "web") -> None:
    """New files of the inbox into the database (as ``esf-pipeline ingest``), recorded as a job."""
    from pipeline import jobs, manifest, runs

    timings: dict = {}
    with jobs.job(cfg, "ingest", face, job_id) as handle:
        result = runs.ingest(cfg, handle.progress, timings, locked=True)
        handle.finish(*runs.ingest_summary(cfg, result))
        manifest.write(cfg, cfg.outputs / "ingest", result.run_id, ingest_result=result, timings=timings)


def validate(cfg: Config, job_id: str | None = None, face: str = "web") -> None:
    """validation_report.xlsx and Data Docs into ``<outputs>/validation`` (as ``esf-pipeline validate``)."""
    from pipeline import jobs, runs

    runs.require_database(cfg)
    with jobs.job(cfg, "validate", face, job_id) as handle:
        handle.progress("validation", "Prüfbericht und Data Docs werden geschrieben")
        paths = runs.validation_outputs(cfg, cfg.outputs / "validation")
        written = count(len(paths), "Datei", "Dateien")
        handle.finish("ok", f"Prüfbericht und Data Docs geschrieben ({written})",
                      {"outputs": [p.name for p in paths]})  # fmt: skip


AUDIENCE_NAMES = {"intern": "intern", "foerdergeber": "Fördergeber", "oeffentlich": "öffentlich"}


@gc_pause.after_answer
def report_set(cfg: Config, job_id: str, period: str, as_of, audience: str, face: str = "web") -> dict:
    """One audience's report set (as ``esf-pipeline report``), recorded as a job; returns its summary.

    The garbage collector stays paused until the job has ended, in the warm worker until its answer went back
    (:func:`pipeline.gc_pause.after_answer`): the set's garbage, about 0.15 s of collecting, is collected while
    the worker is idle, not before the page learns that the set is ready."""
    from pipeline import jobs, runs

    runs.require_database(cfg)
    with gc_pause.paused(), jobs.job(cfg, "report", face, job_id) as handle:
        res = runs.report_set(cfg, period, as_of, audience, handle.progress, helper=_helper())
        r = res.indicator_result
        summary = {
            "period": r.period.id,
            "audience": audience,
            "as_of": as_of.isoformat() if as_of else None,
            "data_state": r.data_state.isoformat() if r.data_state else None,
            "folder": str(res.period_dir),
            "outputs": [p.name for p in res.outputs],
        }
        handle.finish("ok", f"Berichte geschrieben: {r.period.label}, {AUDIENCE_NAMES.get(audience, audience)}",
                      summary)
    return summary


def warm_up() -> None:
    """First task of the page's warm worker: load what the first report build would load (fonts, the compiled
    template, matplotlib's and the office libraries' start-up), then fork the helper (see :mod:`pipeline.tasks`)."""
    from pipeline.reports import warm

    warm.warm_up()


def _helper():
    from pipeline.reports import warm

    return warm.helper()


TASKS = {"ingest": ingest, "validate": validate}


def main(argv: list[str]) -> int:
    """Child entry: ``python -m pipeline.tasks KIND`` with the configuration as JSON on stdin."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    if len(argv) != 1 or argv[0] not in TASKS:
        print(f"usage: python -m pipeline.tasks {{{','.join(TASKS)}}} < config.json", file=sys.stderr)
        return 2
    cfg = Config.model_validate_json(sys.stdin.read())
    try:
        TASKS[argv[0]](cfg)
    except Exception:  # noqa: BLE001 - the job row holds the message; no traceback for the user
        if os.environ.get("ESF_PIPELINE_DEBUG"):
            raise
        return 1
    return 0


if __name__ == "__main__":
    from pipeline.worker import _fast_exit

    _fast_exit(main(sys.argv[1:]))
