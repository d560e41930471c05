"""The page's warm report worker: after its warm-up it has a helper process that writes the workbooks and the Word
draft while it writes the PDF; the set is the same as one written in one process. The other cycles' comparison
figures it keeps are taken again only for the same database state."""

from __future__ import annotations

import gc
import importlib
import logging
import os
import subprocess
import sys
from pathlib import Path

import docx
import openpyxl
import pytest
from project_setup import project_config

from pipeline import db, jobs, runs, worker
from pipeline.generate import generate
from pipeline.reports import comparison


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    cfg = project_config(tmp_path_factory.mktemp("helper"))
    generate(cfg.inbox, households=24, seed=3, cycles=["2024", "2025"], defects=0.0, config=cfg, snapshots=1)
    runs.ingest(cfg)
    return cfg


def _pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def _content(path: Path):
    if path.suffix == ".pdf":
        return _pdf_text(path)
    if path.suffix == ".xlsx":
        wb = openpyxl.load_workbook(path)
        return [(ws.title, [[c.value for c in row] for row in ws.iter_rows()]) for ws in wb.worksheets]
    if path.suffix == ".docx":
        d = docx.Document(str(path))
        return ([(p.style.name, p.text) for p in d.paragraphs],
                [[[c.text for c in r.cells] for r in t.rows] for t in d.tables], len(d.inline_shapes))
    return path.read_bytes()


@pytest.mark.slow
@pytest.mark.skipif(not worker.enabled(), reason="the helper needs a second core")
def test_warm_worker_with_helper_writes_the_same_set_as_one_process(project, tmp_path):
    cfg = project
    one = runs.report_set(cfg, "2025", None, "foerdergeber", out_dir=tmp_path / "one")
    w = worker.start(1, preload=(*worker.PRELOAD, "pipeline.tasks"))[0]
    try:
        w.submit("pipeline.tasks", "warm_up")
        w.result()
        ps = ["ps", "-o", "pid=", "--ppid", str(w._proc.pid)]
        helpers = subprocess.run(ps, capture_output=True, text=True).stdout.split()
        assert len(helpers) == 1  # the helper, forked by the worker
        job = jobs.create(cfg, "report", "web")
        w.submit("pipeline.tasks", "report_set", cfg, job, "2025", None, "foerdergeber")
        summary = w.result()
    finally:
        w.close()
    assert jobs.get(cfg, job).outcome == "ok"
    warm = Path(summary["folder"])
    assert summary["outputs"] == [p.name for p in one.outputs]
    for p in one.outputs:
        assert _content(warm / p.name) == _content(p), p.name
    info = subprocess.run(["pdfinfo", str(warm / "project_report.pdf")], capture_output=True, text=True).stdout
    assert "Tagged:          yes" in info
    assert not subprocess.run(["ps", "-o", "pid=", "-p", helpers[0]], capture_output=True, text=True).stdout.strip()


def test_set_with_a_dead_helper_is_written_in_one_process(project, tmp_path):
    """A helper that died between two sets: the worker writes every file itself."""
    helper = worker.start(1, preload=())[0]
    helper.submit("os", "_exit", 3)
    with pytest.raises(worker.WorkerDied):
        helper.result()
    res = runs.report_set(project, "2025", None, "intern", out_dir=tmp_path / "x", helper=helper)
    names = [p.name for p in res.outputs]
    assert names == ["indicators.csv", "esf_submission.xlsx", "project_report.xlsx", "project_report.pdf",
                     "sachbericht.docx"]
    assert all(p.is_file() for p in res.outputs)
    helper.close()


class InProcessHelper:
    """A helper that runs each task right here, and dies (WorkerDied, as a killed process would) at the task
    named ``dies_at``: every hand-over point of the set without a second process. Tasks may be queued, as with
    a real worker; once dead, every later answer fails too."""

    def __init__(self, dies_at: str | None = None):
        self.dies_at, self.tasks, self.pending, self.dead = dies_at, [], [], False

    def submit(self, module, func, *args, queue=False, **kwargs):
        assert queue or not self.pending, "worker is busy"
        if self.dead:
            raise worker.WorkerDied("helper is dead")
        self.tasks.append(func)
        self.pending.append((func, lambda: getattr(importlib.import_module(module), func)(*args, **kwargs)))

    def result(self):
        func, call = self.pending.pop(0)
        if self.dead or func == self.dies_at:
            self.dead = True
            raise worker.WorkerDied(f"helper killed during {func}")
        return call()


@pytest.mark.parametrize("dies_at", [None, "draw_charts", "render_office"])
def test_set_is_the_same_whenever_the_helper_dies(project, tmp_path, dies_at, caplog):
    """The helper draws the charts, then (queued behind) writes the office files; dead at either point, the
    worker draws and writes the rest itself, and the set equals one written in one process."""
    caplog.set_level(logging.WARNING, logger="weasyprint")
    one = runs.report_set(project, "2025", None, "foerdergeber", out_dir=tmp_path / "one")
    helper = InProcessHelper(dies_at)
    res = runs.report_set(project, "2025", None, "foerdergeber", out_dir=tmp_path / "two", helper=helper)
    assert helper.tasks == ["draw_charts", "render_office"]  # both handed over at once
    assert helper.pending == []  # every answer collected: the helper ends idle
    assert [p.name for p in res.outputs] == [p.name for p in one.outputs]
    for a, b in zip(one.outputs, res.outputs, strict=True):
        assert _content(b) == _content(a), b.name
    assert (tmp_path / "two" / "2025" / "project_report.pdf").read_bytes() == \
        (tmp_path / "one" / "2025" / "project_report.pdf").read_bytes()
    # every chart was served when drawn: a chart WeasyPrint could not fetch would only be a warning
    assert not [r for r in caplog.records if r.name.startswith("weasyprint")]


def test_collector_is_paused_while_a_set_renders_and_resumes_after(project, tmp_path, monkeypatch):
    from pipeline.reports import pdf

    seen = []
    real = pdf.html_to_pdf

    def spy(html, url_fetcher=None):
        seen.append(gc.isenabled())
        raise RuntimeError("layout failed")

    monkeypatch.setattr(pdf, "html_to_pdf", spy)
    assert gc.isenabled()
    with pytest.raises(RuntimeError, match="layout failed"):
        runs.report_set(project, "2025", None, "intern", out_dir=tmp_path / "x")
    assert seen == [False]
    assert gc.isenabled()  # resumed, also after a failure
    monkeypatch.setattr(pdf, "html_to_pdf", real)
    gc.disable()
    try:  # a caller that switched it off itself finds it off
        runs.report_set(project, "2025", None, "intern", out_dir=tmp_path / "y")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_kept_comparison_figures_are_taken_again_only_for_the_same_database_state(project, monkeypatch):
    from pipeline import indicators

    cfg = project
    computed = []
    real = indicators.compute

    def counting(con, config, period, as_of=None, audience="foerdergeber"):
        computed.append(str(period))
        return real(con, config, period, as_of=as_of, audience=audience)

    monkeypatch.setattr(indicators, "compute", counting)
    comparison.keep_results()
    try:
        def compare():
            con = db.connect(cfg.database, read_only=True)
            try:
                state = db.data_state(con, None)
                db.create_current_views(con, state)
                own = real(con, cfg, "2025", as_of=state)
                return comparison.compare_cycles(con, cfg, state, current=own)
            finally:
                con.close()

        first = compare()
        assert computed == ["2024"]  # the other cycle; the report's own cycle is reused
        second = compare()
        assert computed == ["2024"]  # kept: same database state
        assert second.to_frame().equals(first.to_frame())
        os.utime(cfg.database)  # a write (an ingest, an erasure request) changes the file
        compare()
        assert computed == ["2024", "2024"]
    finally:
        comparison.keep_results(False)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
