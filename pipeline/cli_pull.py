"""Command line, continued: ``esf-pipeline pull`` and ``esf-pipeline watch`` (the face of pipeline/schedule.py).

``pull`` exits 0 when everything was taken cleanly or there was nothing new, 1 when a file failed, a source
was unreachable or rows were quarantined (cron and systemd alert on that); with ``--quiet`` it prints only
then. ``watch`` runs until SIGTERM or Ctrl-C: the running job finishes, then it exits 0; a second signal
aborts the job (the ingest rolls back) and exits 1.
"""

from __future__ import annotations

import datetime as dt
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape as esc
from rich.table import Table

from pipeline.cli import (
    ConfigOpt,
    DbOpt,
    InboxOpt,
    QuietOpt,
    _config,
    _friendly,
    _print_ingest,
    _progress,
    app,
    console,
    stdout,
)
from pipeline.config import ConfigError

PollOpt = Annotated[
    bool, typer.Option("--poll", help="Quellordner regelmäßig abfragen statt auf Meldungen zu warten (Netzlaufwerke)")
]


@app.command("pull")
@_friendly
def pull_cmd(
    inbox: InboxOpt = None, db: DbOpt = None, config: ConfigOpt = Path("config.toml"), quiet: QuietOpt = False
) -> None:
    """Fertige neue Exportdateien aus den Quellordnern (ingest.sources) abholen und einlesen (für cron/systemd)."""
    from pipeline import schedule

    cfg = _config(config, db=db, inbox=inbox)
    result = schedule.pull_job(cfg, "cli", progress=_progress(quiet))
    if not quiet:
        _print_pull(cfg, result)
    if result.outcome != "ok":
        console.print(f"[yellow]Achtung:[/yellow] {esc(result.message)}")
        _print_rules(result.summary.get("problems_by_rule") or {}, to=console)
        raise typer.Exit(1)
    if not quiet:
        stdout.print(esc(result.message))


@app.command("watch")
@_friendly
def watch_cmd(
    poll: PollOpt = False,
    inbox: InboxOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = Path("config.toml"),
    quiet: QuietOpt = False,
) -> None:
    """Im Vordergrund: abholen nach Zeitplan (ingest.every/at) und sobald neue Dateien in den Quellordnern liegen."""
    from pipeline import schedule

    cfg = _config(config, db=db, inbox=inbox)
    if not cfg.sources and schedule.next_pull(cfg, dt.datetime.now()) is None:
        raise ConfigError(
            "ingest: für 'watch' fehlen Quellordner (ingest.sources) und ein Zeitplan (ingest.every oder ingest.at)"
        )

    def on_result(res) -> None:
        label = _OUTCOME.get(res.outcome, res.outcome)
        stdout.print(f"{dt.datetime.now():%d.%m.%Y %H:%M:%S} {label}: {esc(res.message)}")
        if not quiet and res.ingest is not None and res.ingest.files:
            _print_ingest(res.ingest)
        sys.stdout.flush()

    def on_error(exc: BaseException) -> None:
        console.print(f"[red]Abholen fehlgeschlagen:[/red] {esc(_error_text(exc))}")

    sched = schedule.Scheduler(cfg, "watch", poll=poll, on_result=on_result, on_error=on_error)

    def on_signal(signum, frame) -> None:
        if sched.stopping.is_set():
            raise KeyboardInterrupt  # second signal: abort the running job (its ingest rolls back)
        sched.request_stop()
        if sched.busy.is_set():
            sys.stderr.write("Beenden: der laufende Auftrag wird noch abgeschlossen …\n")
            sys.stderr.flush()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    sources = esc(", ".join(str(s) for s in cfg.sources)) or "keine (nur Eingangsordner)"
    due = f"{sched.next_due:%d.%m.%Y %H:%M}" if sched.next_due else "keiner"
    how = "Abfrage" if poll else "Meldungen"
    stdout.print(f"Überwachung läuft ({how}); Quellen: {sources}; nächster Termin: {due}")
    sys.stdout.flush()
    try:
        sched.run()
    except KeyboardInterrupt:
        console.print("[red]Abgebrochen:[/red] der laufende Auftrag wurde abgebrochen; die Datenbank ist unverändert.")
        raise typer.Exit(1) from None
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    stdout.print("Überwachung beendet.")


_OUTCOME = {"ok": "erfolgreich", "warning": "mit Hinweisen", "failed": "fehlgeschlagen"}


def _error_text(exc: BaseException) -> str:
    known = ("UserError", "IngestAborted", "ConfigError", "PeriodError")
    return str(exc) if type(exc).__name__ in known else f"Interner Fehler ({type(exc).__name__})"


def _print_pull(cfg, result) -> None:
    rep = result.report
    if not cfg.sources:
        stdout.print("Keine Quellordner konfiguriert (ingest.sources): nur der Eingangsordner wird eingelesen.")
    rows = [(t["file"], esc(t["source"]), "[green]abgeholt[/green]") for t in rep.taken]
    rows += [(d["file"], esc(d["source"]), f"Duplikat von {esc(d['same_as'])}") for d in rep.duplicates]
    rows += [(w["file"], esc(w["source"]), f"wartet: {w['reason']}") for w in rep.waiting]
    rows += [(f["file"], esc(f["source"]), f"[red]{esc(f['message'])}[/red]") for f in rep.failed]
    rows += [("–", esc(u["source"]), f"[red]Quelle: {esc(u['message'])}[/red]") for u in rep.unreachable]
    if rows:
        table = Table(title="Abholen aus den Quellordnern")
        for col in ("Datei", "Quelle", "Ergebnis"):
            table.add_column(col)
        for r in rows:
            table.add_row(*r)
        stdout.print(table)
    if result.ingest is not None:
        _print_ingest(result.ingest)
    if result.outcome == "ok":
        _print_rules(result.summary.get("problems_by_rule") or {}, to=stdout)


def _print_rules(by_rule: dict, to) -> None:
    if not by_rule:
        return
    from pipeline.validation.rules import rules

    catalogue = rules()
    table = Table(title="Befunde je Regel")
    for col in ("Regel", "Anzahl", "Bedeutung"):
        table.add_column(col)
    for rule_id, n in sorted(by_rule.items()):
        rule = catalogue.get(rule_id)
        table.add_row(rule_id, str(n), rule.title if rule else "")
    to.print(table)
