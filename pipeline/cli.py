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
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from pipeline import wording
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


from pipeline.runs import UserError  # noqa: E402 - re-exported: the faces share one error type


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
    from pipeline.runs import parse_date

    return parse_date(text)


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


def _progress(quiet: bool, handle=None):
    """The callback for :mod:`pipeline.runs`: prints on a terminal, and records the step in the job history."""
    show = not quiet and sys.stderr.isatty()

    def progress(step: str, detail: str) -> None:
        if handle is not None:
            handle.progress(step, detail)
        if show and detail and step not in ("done",):
            console.print(f"  [dim]… {detail}[/dim]")

    return progress if (show or handle is not None) else None


@contextlib.contextmanager
def _job(cfg: Config, kind: str):
    """A job of this face (lock + history), see :mod:`pipeline.jobs`."""
    from pipeline import jobs

    with jobs.job(cfg, kind, "cli") as handle:
        _audit(cfg, "job", f"{jobs.KINDS.get(kind, kind)} {handle.id}")
        yield handle


def _audit(cfg: Config, action: str, what: str) -> None:
    """The audit log is shared with the web page: who is the face and the system account, never data."""
    import getpass

    from pipeline import audit

    try:
        who = f"cli/{getpass.getuser()}"
    except (KeyError, OSError):
        who = "cli/-"
    audit.record(cfg, who, action, what)


# --- printing ----------------------------------------------------------------------------------------


def _print_ingest(result) -> None:
    table = Table(title="Eingelesene Dateien", show_lines=False)
    for col in ("Datei", "Stand", "Status", "gelesen", "geladen", "Quarantäne", "Hinweis"):
        table.add_column(col)
    for f in result.files:
        status = _file_status(f.status)
        note = f.message
        if f.vanished:
            note = (note + " " if note else "") + wording.vanished_note(f.vanished)
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


def _file_status(status: str) -> str:
    """The page's word for a file's status, coloured for the terminal."""
    colour = {"loaded": "green", "failed": "red"}.get(status)
    word = wording.FILE_STATUS.get(status, status)
    return f"[{colour}]{word}[/{colour}]" if colour else word


def _print_notices(notices: list[str]) -> None:
    for n in notices:
        console.print(f"[yellow]Achtung:[/yellow] {n}", soft_wrap=True)


def _print_in_force(cfg: Config, as_of=None) -> None:
    from pipeline import runs

    stdout.print("Gültiger Stand je Tabelle:")
    for state in runs.in_force(cfg, as_of):
        stdout.print(f"  {state.text}", soft_wrap=True)


def _printer(quiet: bool):
    def on_ingest(ing, notices: list[str]) -> None:
        if not quiet:
            _print_ingest(ing)
        _print_notices(notices)

    return on_ingest


def _print_summary(result, period_dir: Path) -> None:
    df = result.table
    tot = df[(df["dimension"] == "total")]
    table = Table(title=f"Kennzahlen {result.period.id} (Datenstand {_date(result.data_state)})")
    table.add_column("Kennzahl")
    table.add_column("Wert", justify="right")
    from pipeline import catalogue

    for ind_id in ("K01", "K02", "K03", "K05", "K06", "K09", "K10", "K20"):
        row = tot[tot["indicator_id"] == ind_id]
        if row.empty:
            continue
        v = row.iloc[0]["value"]
        ind = catalogue.get(ind_id)
        if v is None or _is_na(v):
            text = "–"
        elif ind.unit == "share":
            text = f"{v * 100:.1f} %".replace(".", ",")
        else:
            text = f"{v:g}".replace(".", ",")
        table.add_row(f"{ind_id} {ind.label}", text)
    stdout.print(table)
    stdout.print(f"Berichte: {period_dir}")


def _is_na(v) -> bool:
    import pandas as pd  # only here: --help and ingest start without pandas

    return v is pd.NA or v != v


def _date(d) -> str:
    return f"{d:%d.%m.%Y}" if d else "–"


# --- commands ----------------------------------------------------------------------------------------


@app.command("ingest")
@_friendly
def ingest_cmd(
    inbox: InboxOpt = None, db: DbOpt = None, config: ConfigOpt = Path("config.toml"), quiet: QuietOpt = False
) -> None:
    """Neue Exportdateien aus dem Eingangsordner einlesen, archivieren, prüfen und laden."""
    from pipeline import manifest, runs

    cfg = _config(config, db=db, inbox=inbox)
    timings: dict = {}
    with _job(cfg, "ingest") as handle:
        result = runs.ingest(cfg, _progress(quiet, handle), timings, locked=True)
        handle.finish(*runs.ingest_summary(cfg, result))
        if not quiet:
            _print_ingest(result)
            _print_in_force(cfg)
        manifest.write(cfg, cfg.outputs / "ingest", result.run_id, ingest_result=result, timings=timings)
    if result.failed and not result.loaded:
        raise typer.Exit(1)


@app.command("validate")
@_friendly
def validate_cmd(
    db: DbOpt = None, out: OutOpt = None, config: ConfigOpt = Path("config.toml"), quiet: QuietOpt = False
) -> None:
    """Nur Prüfung: Prüfbericht (validation_report.xlsx) und Data Docs schreiben."""
    from pipeline import runs

    cfg = _config(config, db=db)
    runs.require_database(cfg)
    out_dir = out.resolve() if out else cfg.outputs / "validation"
    with _job(cfg, "validate") as handle:
        paths = runs.validation_outputs(cfg, out_dir)
        written = wording.count(len(paths), "Datei", "Dateien")
        handle.finish("ok", f"Prüfbericht und Data Docs geschrieben ({written})", {"outputs": [str(p) for p in paths]})
    for p in paths:
        stdout.print(f"geschrieben: {p}")


def _check_audience(audience: str) -> None:
    from pipeline import runs

    if audience not in runs.AUDIENCES:
        raise ConfigError(f"--audience: {audience!r} ist keine Zielgruppe (intern, foerdergeber, oeffentlich)")


@app.command("indicators")
@_friendly
def indicators_cmd(
    period: PeriodOpt,
    as_of: AsOfOpt = None,
    audience: Annotated[str, typer.Option(help="intern (mit K18) | foerdergeber | oeffentlich")] = "foerdergeber",
    db: DbOpt = None,
    out: OutOpt = None,
    config: ConfigOpt = Path("config.toml"),
    quiet: QuietOpt = False,
) -> None:
    """Indikatorenkatalog berechnen und indicators.csv schreiben."""
    from pipeline import runs

    _check_audience(audience)
    cfg = _config(config, db=db, outputs=out)
    result, path = runs.indicators(cfg, period, _as_of(as_of), audience=audience)
    for note in result.notes():
        console.print(f"[yellow]Hinweis:[/yellow] {note}")
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
    from pipeline import runs

    _check_audience(audience)
    cfg = _config(config, db=db, outputs=out)
    runs.require_database(cfg)
    with _job(cfg, "report") as handle:
        res = runs.report_set(cfg, period, _as_of(as_of), audience, _progress(quiet, handle))
        handle.finish("ok", f"Berichte {res.indicator_result.period.id} ({audience})", _report_summary(res, audience))
    for p in res.outputs:
        stdout.print(f"geschrieben: {p}")


def _report_summary(res, audience: str) -> dict:
    r = res.indicator_result
    return {
        "period": r.period.id,
        "audience": audience,
        "data_state": r.data_state.isoformat() if r.data_state else None,
        "folder": str(res.period_dir),
        "outputs": [p.name for p in res.outputs],
    }


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
    _run(cfg, period, _as_of(as_of), quiet, "run")


def _run(cfg: Config, period: str, as_of, quiet: bool, kind: str) -> None:
    from pipeline import runs

    with _job(cfg, kind) as handle:
        res = runs.run(cfg, period, as_of, _progress(quiet, handle), on_ingest=_printer(quiet), locked=True)
        outcome, message, summary = runs.ingest_summary(cfg, res.ingest_result)
        summary["reports"] = _report_summary(res, "foerdergeber")
        handle.finish(outcome, message + f" Berichte {res.indicator_result.period.id} geschrieben.", summary)
    for note in res.indicator_result.notes():
        console.print(f"[yellow]Hinweis:[/yellow] {note}")
    if not quiet:
        _print_in_force(cfg, as_of)
        _print_summary(res.indicator_result, res.period_dir)


# the rest of the commands, registered in this order after the ones above (the order of --help)
from pipeline import cli_generate  # noqa: E402,F401,I001 - generate, demo (order matters)
from pipeline import cli_admin, cli_pull  # noqa: E402,F401 - register jobs, retention, erase, serve, pull, watch


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
