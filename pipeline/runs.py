"""The flow as functions: ingest, validate, indicators, reports, run. The only module that knows the order
of the steps; the faces (``cli.py``, ``web/``) call it and present what it returns.

Progress goes through a callback ``progress(step, detail)``: ``step`` is a short stable key ("ingest",
"file", "validation", "indicators", "reports", "done"), ``detail`` a German text for the user (file names,
never personal data). Results come back as data; expected failures are :class:`UserError` (exit 1).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.config import Config
from pipeline.job_summary import ingest_summary  # noqa: F401  (the faces call runs.ingest_summary)

Progress = Callable[[str, str], None]
AUDIENCES = ("intern", "foerdergeber", "oeffentlich")
RUN_AUDIENCES = ("foerdergeber", "intern")


class UserError(Exception):
    """An expected failure with a message for the user (exit 1)."""


def _say(progress: Progress | None, step: str, detail: str = "") -> None:
    if progress is not None:
        progress(step, detail)


def parse_date(text: str | None, option: str = "--as-of") -> dt.date | None:
    """A date typed by a user (TT.MM.JJJJ or JJJJ-MM-TT); a ConfigError naming ``option`` otherwise."""
    from pipeline.config import ConfigError

    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            pass
    raise ConfigError(f"{option}: kein Datum: {text!r} (TT.MM.JJJJ oder JJJJ-MM-TT)")


def require_database(cfg: Config) -> None:
    if not cfg.database.exists():
        raise UserError(f"Noch keine Datenbank unter {cfg.database}: zuerst 'esf-pipeline ingest' ausführen.")


def period_dir(cfg: Config, period, audience: str = "foerdergeber", out_dir: Path | None = None) -> Path:
    """Where the files of one audience of a period go (outputs.md: the funder set at the top)."""
    from pipeline.period import resolve_period

    period = resolve_period(cfg, period) if isinstance(period, str) else period
    target = (out_dir or cfg.outputs) / period.slug
    return target if audience == "foerdergeber" else target / audience


# --- steps -------------------------------------------------------------------------------------------


def ingest(cfg: Config, progress: Progress | None = None, timings: dict | None = None, locked: bool = False):
    """New export files from the inbox into the database (one transaction); takes the database lock unless
    the caller holds it (``locked``)."""
    from pipeline import ingest as ingest_step
    from pipeline.lock import exclusive

    t = time.perf_counter()
    _say(progress, "ingest", "Eingangsordner wird gelesen")
    lock = contextlib.nullcontext() if locked else exclusive(cfg.database)
    with lock:
        result = ingest_step.ingest(cfg, progress=(lambda name: _say(progress, "file", name)) if progress else None)
    if timings is not None:
        timings["ingest"] = round(time.perf_counter() - t, 3)
    return result


def validation_outputs(cfg: Config, out_dir: Path, timings: dict | None = None) -> list[Path]:
    """validation_report.xlsx and Data Docs of the snapshots in force, into ``out_dir``."""
    from pipeline import db

    try:
        from pipeline import validate
    except ImportError:
        return []
    t = time.perf_counter()
    require_database(cfg)
    con = db.connect(cfg.database, read_only=True)
    try:
        paths = validate.write_validation_outputs(con, out_dir)
    finally:
        con.close()
    if timings is not None:
        timings["validation_outputs"] = round(time.perf_counter() - t, 3)
    return paths


def indicators(
    cfg: Config,
    period,
    as_of: dt.date | None,
    out_dir: Path | None = None,
    timings: dict | None = None,
    audience: str = "foerdergeber",
):
    """The catalogue for ``period``; writes indicators.csv of the audience. Returns (result, csv path)."""
    from pipeline import db
    from pipeline import indicators as indicator_step
    from pipeline.period import resolve_period

    t = time.perf_counter()
    period = resolve_period(cfg, period) if isinstance(period, str) else period
    require_database(cfg)
    con = db.connect(cfg.database, read_only=True)
    try:
        db.create_current_views(con, as_of)
        result = indicator_step.compute(con, cfg, period, as_of=as_of, audience=audience)
    except indicator_step.MissingSnapshot as exc:  # households/persons without a snapshot (at --as-of)
        raise UserError(str(exc)) from None
    finally:
        con.close()
    path = indicator_step.write_csv(result, period_dir(cfg, result.period, audience, out_dir) / "indicators.csv")
    if timings is not None:
        timings[f"indicators_{audience}"] = round(time.perf_counter() - t, 3)
    return result, path


def reports(cfg: Config, result, audience: str, out_dir: Path | None = None, timings: dict | None = None,
            helper=None) -> list[Path]:
    """Excel and PDF reports of one audience for an indicator result (``helper``: see ``render_reports``)."""
    from pipeline import db
    from pipeline.reports import render_reports

    t = time.perf_counter()
    con = db.connect(cfg.database, read_only=True)
    try:
        db.create_current_views(con, result.data_state if result.data_state else None)
        paths = render_reports(con, cfg, result, audience, period_dir(cfg, result.period, audience, out_dir),
                               helper=helper)
    finally:
        con.close()
    if timings is not None:
        timings[f"reports_{audience}"] = round(time.perf_counter() - t, 3)
    return paths


def audience_outputs(cfg: Config, period, as_of: dt.date | None, audience: str):
    """indicators.csv and the reports of one audience; (indicator result, paths, timings). During ``run`` each
    audience is written by a worker process."""
    timings: dict = {}
    result, csv_path = indicators(cfg, period, as_of, None, timings, audience=audience)
    return result, [csv_path, *reports(cfg, result, audience, None, timings)], timings


def in_force(cfg: Config, as_of: dt.date | None = None) -> list:
    """Per table the snapshot in force and why (:class:`pipeline.deliveries.TableState`; ``.text`` a sentence)."""
    from pipeline import db, deliveries

    con = db.connect(cfg.database, read_only=True)
    try:
        return deliveries.table_states(con, as_of)
    finally:
        con.close()


def stale_notices(cfg: Config, ing, as_of: dt.date | None) -> list[str]:
    """Tables kept on an older snapshot (or on none) because a newer delivery was refused, as sentences
    ("Haushalte: Stand 31.01.2026 bleibt gültig, weil … abgewiesen wurde (82 % der Zeilen fehlerhaft)");
    UserError when households or persons have no snapshot in force."""
    from pipeline import db, model
    from pipeline.indicators import MissingSnapshot, require_snapshots

    if as_of is not None:
        con = db.connect(cfg.database, read_only=True)
        try:
            require_snapshots(con, as_of)  # names the table and its earliest snapshot date
        except MissingSnapshot as exc:
            raise UserError(str(exc)) from None
        finally:
            con.close()
    states = in_force(cfg, as_of)
    snaps = {s.table: s.snapshot_date for s in states if s.snapshot_date}
    notices = [f"{s.text}." for s in states if s.refused]
    missing = [model.tables()[t].label for t in ("households", "persons") if t not in snaps]
    if missing:
        raise UserError(
            f"Keine gültige Lieferung für {', '.join(missing)}: ohne sie kann kein Bericht erstellt werden. "
            "Bitte die Exportdateien in den Eingangsordner legen und erneut starten."
            + "".join(f"\n  {n}" for n in notices)
        )
    return notices


# --- whole runs --------------------------------------------------------------------------------------


@dataclass
class RunResult:
    """What ``run`` or ``report_set`` produced."""

    period_dir: Path
    indicator_result: object = None
    ingest_result: object = None
    outputs: list[Path] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    manifest: Path | None = None


@contextlib.contextmanager
def _report_workers():
    """One worker process per audience of ``run`` (see :mod:`pipeline.worker`), or {} when switched off."""
    from pipeline import worker

    workers: dict = {}
    try:
        if worker.enabled():
            workers = dict(zip(RUN_AUDIENCES, worker.start(len(RUN_AUDIENCES)), strict=True))
        yield workers
    finally:
        worker.close_all(list(workers.values()))


def run(
    cfg: Config,
    period,
    as_of: dt.date | None = None,
    progress: Progress | None = None,
    on_ingest: Callable[[object, list[str]], None] | None = None,
    locked: bool = False,
) -> RunResult:
    """ingest + validate + indicators + reports (foerdergeber, intern) under the database lock.

    Uses both cores: two worker processes import the report libraries while this process ingests, then each
    writes the reports of one audience while this process writes the validation workbook and Data Docs.
    ``on_ingest(result, notices)`` is called as soon as the ingest is done (the CLI prints its table then).
    """
    from pipeline import manifest
    from pipeline.lock import exclusive

    timings: dict = {}
    t_run = time.perf_counter()
    lock = contextlib.nullcontext() if locked else exclusive(cfg.database)
    with lock, _report_workers() as workers:
        ing = ingest(cfg, progress, timings, locked=True)  # closes its write connection before returning
        notices = stale_notices(cfg, ing, as_of)
        if on_ingest is not None:
            on_ingest(ing, notices)
        out = period_dir(cfg, period)
        # the database is read-only from here on: the workers may open it
        for audience, w in workers.items():
            w.submit("pipeline.runs", "audience_outputs", cfg, period, as_of, audience)
        _say(progress, "validation", "Prüfbericht und Data Docs")
        validation = validation_outputs(cfg, out, timings)
        _say(progress, "reports", "Berichte für Fördergeber und intern")
        done = {}
        for audience in RUN_AUDIENCES:
            t = time.perf_counter()
            if audience in workers:
                done[audience] = workers[audience].result()
                timings[f"wait_{audience}"] = round(time.perf_counter() - t, 3)
            else:
                done[audience] = audience_outputs(cfg, period, as_of, audience)
            timings.update(done[audience][2])
        result, f_paths, _ = done["foerdergeber"]
        _, i_paths, _ = done["intern"]
        outputs = [f_paths[0], *validation, *f_paths[1:], *i_paths]
        timings["total"] = round(time.perf_counter() - t_run, 3)
        path = manifest.write(
            cfg, out, ing.run_id, ingest_result=ing, indicator_result=result, outputs=outputs, timings=timings
        )
    _say(progress, "done", str(out))
    return RunResult(out, result, ing, outputs, notices + result.notes(), timings, path)


def report_set(
    cfg: Config,
    period,
    as_of: dt.date | None = None,
    audience: str = "foerdergeber",
    progress: Progress | None = None,
    out_dir: Path | None = None,
    helper=None,
) -> RunResult:
    """indicators.csv, the reports and a manifest for one audience, without ingesting (read-only); ``helper``: an
    idle worker process that writes the workbooks and the Word draft meanwhile (the page's warm worker has one)."""
    import uuid

    from pipeline import manifest

    if audience not in AUDIENCES:
        from pipeline.config import ConfigError

        raise ConfigError(f"--audience: {audience!r} ist keine Zielgruppe (intern, foerdergeber, oeffentlich)")
    timings: dict = {}
    t_run = time.perf_counter()
    _say(progress, "indicators", "Kennzahlen werden berechnet")
    result, csv_path = indicators(cfg, period, as_of, out_dir, timings, audience=audience)
    _say(progress, "reports", "Berichte werden geschrieben")
    paths = [csv_path, *reports(cfg, result, audience, out_dir, timings, helper=helper)]
    out = period_dir(cfg, result.period, audience, out_dir)
    timings["total"] = round(time.perf_counter() - t_run, 3)
    path = manifest.write(cfg, out, uuid.uuid4().hex[:12], indicator_result=result, outputs=paths, timings=timings)
    _say(progress, "done", str(out))
    return RunResult(out, result, None, paths, [], timings, path)


def demo(cfg: Config, households: int = 60, seed: int = 1, progress: Progress | None = None, **run_kwargs) -> RunResult:
    """Generate a synthetic export set into demo/inbox (own database, never the configured one) and run the
    last generated cycle into outputs/demo/."""
    from pipeline import generate

    demo_cfg = demo_config(cfg)
    _say(progress, "generate", "Demo-Exporte werden erzeugt")
    result = generate.generate(demo_cfg.inbox, households=households, seed=seed, config=cfg)
    period = result.cycles[-1]
    _say(progress, "generate", f"Demo-Exporte: {len(result.files)} Dateien in {demo_cfg.inbox}; Zyklus {period}")
    return run(demo_cfg, period, None, progress, **run_kwargs)


def demo_config(cfg: Config) -> Config:
    """The config of the demo: its own inbox, archive and database under demo/, outputs under outputs/demo/."""
    base = cfg.base_dir
    paths = {
        "inbox": base / "demo" / "inbox",
        "archive": base / "demo" / "archive",
        "database": base / "demo" / "data" / "esf.duckdb",
        "outputs": cfg.outputs / "demo",
    }
    return cfg.model_copy(update={"paths": cfg.paths.model_copy(update=paths)})


# --- data protection ---------------------------------------------------------------------------------


def purge(cfg: Config, dry_run: bool = False):
    """Delete what is past its retention date (or, ``dry_run``, say what would go); under the lock."""
    from pipeline import db, retention
    from pipeline.lock import exclusive

    with exclusive(cfg.database):
        con = db.connect(cfg.database)
        try:
            return retention.purge(con, cfg, dry_run=dry_run)
        finally:
            con.close()


def erase(cfg: Config, person_id: str, note: str = "") -> None:
    """Record an erasure request (restricts processing at once); UserError when the id is unknown."""
    from pipeline import db, retention
    from pipeline.lock import exclusive

    with exclusive(cfg.database):
        con = db.connect(cfg.database)
        try:
            ok = retention.request_erasure(con, person_id, note)
        finally:
            con.close()
    if not ok:
        raise UserError(f"Person-ID {person_id!r} ist nicht in der Datenbank; nichts erfasst.")
