"""Command line: ``esf-pipeline`` (also ``python -m pipeline``).

Exit status: 0 reports written; 1 run failed (the message says why and what to do); 2 usage or
configuration error. Expected problems print one clear message, never a traceback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from pipeline.config import Config, ConfigError, load_config

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

app = typer.Typer(add_completion=False, no_args_is_help=True, help="ESF-Berichtspipeline BG-Coaching")
console = Console(stderr=True)
stdout = Console()
if not stdout.is_terminal:  # logs and CI: wide enough that file names are not cut
    stdout = Console(width=160)

ConfigOpt = Annotated[Path, typer.Option("--config", help="config.toml")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="keine Fortschrittsanzeige")]
DbOpt = Annotated[Path | None, typer.Option("--db", help="DuckDB-Datei (statt [paths].database)")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Ausgabeordner (statt [paths].outputs)")]
InboxOpt = Annotated[Path | None, typer.Option("--inbox", help="Eingangsordner (statt [paths].inbox)")]
PeriodOpt = Annotated[str, typer.Option("--period", help="Projektzyklus (2019) oder Zeitraum (2019-01-01..2019-06-30)")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Datenstand TT.MM.JJJJ oder JJJJ-MM-TT")]


class UserError(Exception):
    """An expected failure with a message for the user (exit 1)."""


def _friendly(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from pipeline.ingest import IngestAborted
        from pipeline.lock import Busy
        from pipeline.worker import WorkerDied, WorkerFailed

        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            console.print(f"[red]Konfigurationsfehler:[/red] {exc}")
            raise typer.Exit(2) from None
        except (UserError, Busy, IngestAborted) as exc:
            console.print(f"[red]Fehler:[/red] {exc}")
            raise typer.Exit(1) from None
        except typer.Exit:
            raise
        except WorkerDied as exc:
            console.print(f"[red]Fehler:[/red] {exc} Bitte erneut starten.")
            raise typer.Exit(1) from None
        except Exception as exc:
            if os.environ.get("ESF_PIPELINE_DEBUG"):
                raise
            name = exc.type_name if isinstance(exc, WorkerFailed) else type(exc).__name__
            if name == "PeriodError":
                console.print(f"[red]Zeitraum ungültig:[/red] {exc}")
                raise typer.Exit(2) from None
            console.print(
                f"[red]Interner Fehler ({name}).[/red] Der Lauf wurde abgebrochen; die Datenbank ist unverändert. "
                "Mit ESF_PIPELINE_DEBUG=1 erneut starten, um Details zu sehen."
            )
            raise typer.Exit(1) from None

    return wrapper


def _config(path: Path, db: Path | None = None, inbox: Path | None = None, outputs: Path | None = None) -> Config:
    return load_config(path).with_paths(database=db, inbox=inbox, outputs=outputs)


def _as_of(text: str | None) -> dt.date | None:
    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            pass
    raise ConfigError(f"--as-of: kein Datum: {text!r} (TT.MM.JJJJ oder JJJJ-MM-TT)")


@contextlib.contextmanager
def _bar(quiet: bool):
    """A rich progress bar on a terminal; yields a callback (label, done, total) or None."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import Progress

    with Progress(console=console, transient=True) as bar:
        tasks: dict[str, int] = {}

        def update(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total)
            bar.update(tasks[label], completed=done)

        yield update


def _progress(quiet: bool):
    if quiet or not sys.stderr.isatty():
        return None
    return lambda msg: console.print(f"  [dim]… {msg}[/dim]")


# --- steps -------------------------------------------------------------------------------------------


def do_ingest(cfg: Config, quiet: bool, timings: dict) -> object:
    from pipeline import ingest
    from pipeline.lock import exclusive

    t = time.perf_counter()
    with exclusive(cfg.database):
        result = ingest.ingest(cfg, progress=_progress(quiet))
    timings["ingest"] = round(time.perf_counter() - t, 3)
    if not quiet:
        _print_ingest(result)
    return result


def _print_ingest(result) -> None:
    table = Table(title="Eingelesene Dateien", show_lines=False)
    for col in ("Datei", "Stand", "Status", "gelesen", "geladen", "Quarantäne", "Hinweis"):
        table.add_column(col)
    for f in result.files:
        status = {"loaded": "[green]geladen[/green]", "skipped": "bereits da", "failed": "[red]Fehler[/red]"}[f.status]
        note = f.message
        if f.vanished:
            note = (note + " " if note else "") + f"{f.vanished} Datensätze fehlen ggü. Vorgänger"
        table.add_row(
            f.file_name,
            f"{f.snapshot_date:%d.%m.%Y}" if f.snapshot_date else "–",
            status,
            str(f.rows_read),
            str(f.rows_loaded),
            str(f.rows_quarantined),
            note,
        )
    stdout.print(table)


def _require_database(cfg: Config) -> None:
    if not cfg.database.exists():
        raise UserError(f"Noch keine Datenbank unter {cfg.database}: zuerst 'esf-pipeline ingest' ausführen.")


def do_validate_outputs(cfg: Config, out_dir: Path, timings: dict) -> list[Path]:
    from pipeline import db

    try:
        from pipeline import validate
    except ImportError:
        return []
    t = time.perf_counter()
    _require_database(cfg)
    con = db.connect(cfg.database, read_only=True)
    try:
        paths = validate.write_validation_outputs(con, out_dir)
    finally:
        con.close()
    timings["validation_outputs"] = round(time.perf_counter() - t, 3)
    return paths


def do_indicators(
    cfg: Config, period: str, as_of: dt.date | None, out_dir: Path, timings: dict, audience: str = "foerdergeber"
):
    from pipeline import db, indicators
    from pipeline.period import resolve_period

    t = time.perf_counter()
    period = resolve_period(cfg, period) if isinstance(period, str) else period
    _require_database(cfg)
    con = db.connect(cfg.database, read_only=True)
    try:
        db.create_current_views(con, as_of)
        result = indicators.compute(con, cfg, period, as_of=as_of, audience=audience)
    finally:
        con.close()
    target = out_dir / result.period.slug
    if audience != "foerdergeber":
        target = target / audience
    path = indicators.write_csv(result, target / "indicators.csv")
    timings[f"indicators_{audience}"] = round(time.perf_counter() - t, 3)
    return result, path


def do_reports(cfg: Config, result, audience: str, out_dir: Path, timings: dict) -> list[Path]:
    from pipeline import db
    from pipeline.reports import render_reports

    t = time.perf_counter()
    target = out_dir / result.period.slug
    if audience != "foerdergeber":
        target = target / audience
    con = db.connect(cfg.database, read_only=True)
    try:
        db.create_current_views(con, result.data_state if result.data_state else None)
        paths = render_reports(con, cfg, result, audience, target)
    finally:
        con.close()
    timings[f"reports_{audience}"] = round(time.perf_counter() - t, 3)
    return paths


# --- commands ----------------------------------------------------------------------------------------


@app.command("ingest")
@_friendly
def ingest_cmd(
    inbox: InboxOpt = None, db: DbOpt = None, config: ConfigOpt = Path("config.toml"), quiet: QuietOpt = False
) -> None:
    """Neue Exportdateien aus dem Eingangsordner einlesen, archivieren, prüfen und laden."""
    cfg = _config(config, db=db, inbox=inbox)
    timings: dict = {}
    result = do_ingest(cfg, quiet, timings)
    from pipeline import manifest

    _print_in_force(cfg, None, quiet)

    manifest.write(cfg, cfg.outputs / "ingest", result.run_id, ingest_result=result, timings=timings)
    if result.failed and not result.loaded:
        raise typer.Exit(1)


@app.command("validate")
@_friendly
def validate_cmd(
    db: DbOpt = None, out: OutOpt = None, config: ConfigOpt = Path("config.toml"), quiet: QuietOpt = False
) -> None:
    """Nur Prüfung: Prüfbericht (validation_report.xlsx) und Data Docs schreiben."""
    cfg = _config(config, db=db)
    out_dir = out.resolve() if out else cfg.outputs / "validation"
    paths = do_validate_outputs(cfg, out_dir, {})
    for p in paths:
        stdout.print(f"geschrieben: {p}")


@app.command("indicators")
@_friendly
def indicators_cmd(
    period: PeriodOpt,
    as_of: AsOfOpt = None,
    db: DbOpt = None,
    out: OutOpt = None,
    config: ConfigOpt = Path("config.toml"),
    quiet: QuietOpt = False,
) -> None:
    """Indikatorenkatalog berechnen und indicators.csv schreiben."""
    cfg = _config(config, db=db, outputs=out)
    _, path = do_indicators(cfg, period, _as_of(as_of), cfg.outputs, {})
    stdout.print(f"geschrieben: {path}")


@app.command("report")
@_friendly
def report_cmd(
    period: PeriodOpt,
    as_of: AsOfOpt = None,
    audience: Annotated[str, typer.Option(help="intern | foerdergeber | oeffentlich")] = "foerdergeber",
    db: DbOpt = None,
    out: OutOpt = None,
    config: ConfigOpt = Path("config.toml"),
    quiet: QuietOpt = False,
) -> None:
    """Excel- und PDF-Berichte für eine Zielgruppe schreiben."""
    if audience not in ("intern", "foerdergeber", "oeffentlich"):
        raise ConfigError(f"--audience: {audience!r} ist keine Zielgruppe (intern, foerdergeber, oeffentlich)")
    cfg = _config(config, db=db, outputs=out)
    timings: dict = {}
    result, _ = do_indicators(cfg, period, _as_of(as_of), cfg.outputs, timings, audience=audience)
    for p in do_reports(cfg, result, audience, cfg.outputs, timings):
        stdout.print(f"geschrieben: {p}")


def audience_outputs(cfg: Config, period: str, as_of: dt.date | None, audience: str):
    """indicators.csv and the reports of one audience; (indicator result, paths, timings). During ``run`` each
    audience is written by a worker process."""
    timings: dict = {}
    result, csv_path = do_indicators(cfg, period, as_of, cfg.outputs, timings, audience=audience)
    return result, [csv_path, *do_reports(cfg, result, audience, cfg.outputs, timings)], timings


RUN_AUDIENCES = ("foerdergeber", "intern")


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


def run_pipeline(cfg: Config, period: str, as_of: dt.date | None, quiet: bool) -> Path:
    """ingest + validate + indicators + reports (foerdergeber, intern); returns the period folder.

    Uses both cores: two worker processes import the report libraries while this process ingests, then each
    writes the reports of one audience while this process writes the validation workbook and Data Docs.
    (Importing GX in a background thread during the ingest was tried: no gain, the ingest needs GX for its
    first file after ~0.8 s and the import competes with it for the GIL.)
    """
    from pipeline import manifest
    from pipeline.lock import exclusive
    from pipeline.period import resolve_period

    timings: dict = {}
    t_run = time.perf_counter()
    with exclusive(cfg.database), _report_workers() as workers:
        from pipeline import ingest

        t = time.perf_counter()
        ing = ingest.ingest(cfg, progress=_progress(quiet))  # closes its write connection before returning
        timings["ingest"] = round(time.perf_counter() - t, 3)
        if not quiet:
            _print_ingest(ing)
        _check_stale(cfg, ing, as_of, quiet)
        period_dir = cfg.outputs / resolve_period(cfg, period).slug
        # the database is read-only from here on: the workers may open it
        for audience, w in workers.items():
            w.submit("pipeline.cli", "audience_outputs", cfg, period, as_of, audience)
        validation = do_validate_outputs(cfg, period_dir, timings)
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
        manifest.write(
            cfg, period_dir, ing.run_id, ingest_result=ing, indicator_result=result, outputs=outputs, timings=timings
        )
    if not quiet:
        _print_summary(result, period_dir)
    return period_dir


def _print_in_force(cfg: Config, as_of: dt.date | None, quiet: bool = False) -> dict:
    """The snapshot in force of each table and why (stdout); a table kept on an older snapshot because a newer
    delivery was refused is a warning (stderr, also with --quiet). Returns the snapshots in force."""
    from pipeline import db, deliveries

    con = db.connect(cfg.database, read_only=True)
    try:
        states = deliveries.table_states(con, as_of)
    finally:
        con.close()
    if not quiet:
        stdout.print("Gültiger Stand je Tabelle:")
        for st in states:
            stdout.print(f"  {st.text}", soft_wrap=True)
    for st in states:
        if st.refused:
            console.print(f"[yellow]Achtung:[/yellow] {st.text}.", soft_wrap=True)
    return {st.table: st.snapshot_date for st in states if st.snapshot_date}


def _check_stale(cfg: Config, ing, as_of: dt.date | None, quiet: bool = False) -> None:
    """Say which snapshot of each table is in force and why; stop when households or persons have none."""
    from pipeline import model

    snaps = _print_in_force(cfg, as_of, quiet)
    missing = [model.tables()[t].label for t in ("households", "persons") if t not in snaps]
    if missing:
        raise UserError(
            f"Keine gültige Lieferung für {', '.join(missing)}: ohne sie kann kein Bericht erstellt werden. "
            "Bitte die Exportdateien in den Eingangsordner legen und erneut starten."
        )


def _print_summary(result, period_dir: Path) -> None:
    import pandas as pd

    df = result.table
    tot = df[(df["dimension"] == "total")]
    state = f"{result.data_state:%d.%m.%Y}" if result.data_state else "–"
    table = Table(title=f"Kennzahlen {result.period.id} (Datenstand {state})")
    table.add_column("Kennzahl")
    table.add_column("Wert", justify="right")
    from pipeline import catalogue

    for ind_id in ("K01", "K02", "K03", "K05", "K06", "K09", "K10", "K20"):
        row = tot[tot["indicator_id"] == ind_id]
        if row.empty:
            continue
        v = row.iloc[0]["value"]
        ind = catalogue.get(ind_id)
        if v is None or pd.isna(v):  # pd.NA (an empty view) has no truth value
            text = "–"
        elif ind.unit == "share":
            text = f"{v * 100:.1f} %".replace(".", ",")
        else:
            text = f"{v:g}".replace(".", ",")
        table.add_row(f"{ind_id} {ind.label}", text)
    stdout.print(table)
    stdout.print(f"Berichte: {period_dir}")


@app.command("run")
@_friendly
def run_cmd(
    period: PeriodOpt,
    as_of: AsOfOpt = None,
    inbox: InboxOpt = None,
    db: DbOpt = None,
    out: OutOpt = None,
    config: ConfigOpt = Path("config.toml"),
    quiet: QuietOpt = False,
) -> None:
    """Einlesen, prüfen, Kennzahlen berechnen und Berichte (foerdergeber, intern) schreiben."""
    cfg = _config(config, db=db, inbox=inbox, outputs=out)
    run_pipeline(cfg, period, _as_of(as_of), quiet)


@app.command("generate")
@_friendly
def generate_cmd(
    out: Annotated[Path, typer.Option("--out", help="Zielordner")],
    households: Annotated[int, typer.Option(min=1)] = 60,
    seed: int = 1,
    cycles: Annotated[str | None, typer.Option(help="z. B. 2018,2019")] = None,
    defects: Annotated[float, typer.Option(min=0.0, max=0.5)] = 0.0,
    snapshot_date: Annotated[
        str | None,
        typer.Option(
            "--snapshot-date", help="Exportdatum (Standard: Ende des letzten Zyklus + 6 Monate, höchstens heute)"
        ),
    ] = None,
    config: ConfigOpt = Path("config.toml"),
    quiet: QuietOpt = False,
) -> None:
    """Synthetischen Exportsatz im Format der Fallverwaltung erzeugen (gleicher Seed ⇒ gleiche Dateien)."""
    from pipeline import generate

    cfg = load_config(config)
    cycle_ids = [c.strip() for c in cycles.split(",")] if cycles else None
    for cid in cycle_ids or []:
        if cfg.cycle(cid) is None:
            raise ConfigError(f"--cycles: Zyklus {cid!r} steht nicht in {config}")
    try:
        with _bar(quiet) as progress:
            result = generate.generate(
                out,
                households=households,
                seed=seed,
                cycles=cycle_ids,
                defects=defects,
                config=cfg,
                snapshot_date=_as_of(snapshot_date),
                progress=progress,
            )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if not quiet:
        stdout.print(f"{len(result.files)} Dateien in {out}")


@app.command("demo")
@_friendly
def demo_cmd(
    config: ConfigOpt = Path("config.toml"), households: int = 60, seed: int = 1, quiet: QuietOpt = False
) -> None:
    """Demo: Testdaten erzeugen (demo/inbox, eigene Datenbank) und den ganzen Lauf nach outputs/demo/."""
    from pipeline import generate

    cfg = load_config(config)
    base = cfg.base_dir
    demo_cfg = cfg.model_copy(
        update={
            "paths": cfg.paths.model_copy(
                update={
                    "inbox": base / "demo" / "inbox",
                    "archive": base / "demo" / "archive",
                    "database": base / "demo" / "data" / "esf.duckdb",
                    "outputs": cfg.outputs / "demo",
                }
            )
        }
    )
    result = generate.generate(demo_cfg.inbox, households=households, seed=seed, config=cfg)
    period = result.cycles[-1]
    if not quiet:
        stdout.print(f"Demo-Exporte: {len(result.files)} Dateien in {demo_cfg.inbox}; Zyklus {period}")
    run_pipeline(demo_cfg, period, None, quiet)


@app.command("retention")
@_friendly
def retention_cmd(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="nur anzeigen, nichts löschen")] = False,
    db: DbOpt = None,
    config: ConfigOpt = Path("config.toml"),
    quiet: QuietOpt = False,
) -> None:
    """Daten löschen, deren Aufbewahrungsfrist (je Förderperiode) abgelaufen ist."""
    from pipeline import db as database
    from pipeline import retention
    from pipeline.lock import exclusive

    cfg = _config(config, db=db)
    with exclusive(cfg.database):
        con = database.connect(cfg.database)
        try:
            rep = retention.purge(con, cfg, dry_run=dry_run)
        finally:
            con.close()
    verb = "würde löschen" if dry_run else "gelöscht"
    stdout.print(f"Zyklen mit abgelaufener Aufbewahrung: {', '.join(rep.cycles) or 'keine'}")
    for fp, why in rep.kept_because.items():
        stdout.print(f"  {fp}: {why}")
    stdout.print(
        f"Zeilen {verb}: {sum(rep.rows_deleted.values())}; Archivdateien {verb}: "
        f"{rep.archive_files_deleted}; Löschersuchen erledigt: {rep.persons_erased}"
    )


@app.command("erase")
@_friendly
def erase_cmd(
    person_id: Annotated[str, typer.Option("--person-id", help="Person-ID (pseudonym) der betroffenen Person")],
    note: Annotated[str, typer.Option(help="Vermerk zum Ersuchen (ohne Namen)")] = "",
    db: DbOpt = None,
    config: ConfigOpt = Path("config.toml"),
) -> None:
    """Löschersuchen erfassen: Verarbeitung sofort einschränken, Löschung mit Ablauf der Aufbewahrung."""
    from pipeline import db as database
    from pipeline import retention
    from pipeline.lock import exclusive

    cfg = _config(config, db=db)
    with exclusive(cfg.database):
        con = database.connect(cfg.database)
        try:
            ok = retention.request_erasure(con, person_id, note)
        finally:
            con.close()
    if not ok:
        raise UserError(f"Person-ID {person_id!r} ist nicht in der Datenbank; nichts erfasst.")
    stdout.print(
        f"Löschersuchen für {person_id} erfasst. Die Person ist ab sofort von Auswertungen für Analysten "
        "ausgenommen (Art. 18 DSGVO); ihre Daten werden mit Ablauf der Aufbewahrungsfrist gelöscht "
        "(Art. 17 Abs. 3 lit. b DSGVO: ESF-Nachweispflicht). Mit 'esf-pipeline retention' ausführen."
    )


def main() -> None:
    try:
        app()
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    if not isinstance(code, int):
        if code is not None:
            print(code, file=sys.stderr)
        code = 0 if code is None else 1
    from pipeline.worker import _fast_exit

    _fast_exit(code)


if __name__ == "__main__":
    main()
