"""Command line, continued: ``esf-pipeline pull`` and ``esf-pipeline watch`` (the face of pipeline/schedule.py).

``pull`` exits 0 when everything was taken cleanly or there was nothing new, 1 when a file failed, a source
was unreachable or rows were quarantined (cron and systemd alert on that); with ``--quiet`` it prints only
then. ``watch`` runs until SIGTERM or Ctrl-C: the running job finishes, then it exits 0; a second signal
aborts the job (the ingest rolls back) and exits 1.
"""

from __future__ import annotations

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
    _file_status,
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


FaceOpt = Annotated[str, typer.Option("--face", hidden=True, help="wer den Auftrag startet (cli, web, watch)")]
IfNewOpt = Annotated[bool, typer.Option("--if-new", hidden=True, help="nichts aufzeichnen, wenn nichts zu tun ist")]


@app.command("pull")
@_friendly
def pull_cmd(
    inbox: InboxOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = Path("config.toml"),
    quiet: QuietOpt = False,
    face: FaceOpt = "cli",
    if_new: IfNewOpt = False,
) -> None:
    """Fertige neue Exportdateien aus den Quellordnern (ingest.sources) abholen und einlesen (für cron/systemd)."""
    from pipeline import schedule

    if face not in ("cli", "web", "watch"):
        raise ConfigError(f"--face: {face!r} (cli, web, watch)")
    cfg = _config(config, db=db, inbox=inbox)
    result = schedule.pull_job(cfg, face, progress=_progress(quiet), record_empty=not if_new)
    if result is None:
        return
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
    from pipeline import watch

    cfg = _config(config, db=db, inbox=inbox)
    if not watch.configured(cfg):
        raise ConfigError(
            "ingest: für 'watch' fehlen Quellordner (ingest.sources) und ein Zeitplan (ingest.every oder ingest.at)"
        )

    def on_result(job) -> None:
        stdout.print(f"{job.ended or job.created:%d.%m.%Y %H:%M:%S} {job.outcome_label}: {esc(job.message)}")
        if not quiet:
            _print_files(job.summary.get("files") or [])
        sys.stdout.flush()

    def on_error(text: str) -> None:
        console.print(f"[red]Abholen fehlgeschlagen:[/red] {esc(text)}")

    sched = watch.Scheduler(cfg, "watch", poll=poll, on_result=on_result, on_error=on_error)

    def on_signal(signum, frame) -> None:
        if sched.stopping.is_set():
            sched.abort()  # second signal: abort the running job (its ingest rolls back)
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
        sched.aborted = True
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if sched.aborted:
        console.print("[red]Abgebrochen:[/red] der laufende Auftrag wurde abgebrochen; die Datenbank ist unverändert.")
        raise typer.Exit(1)
    stdout.print("Überwachung beendet.")


def _print_files(files: list[dict]) -> None:
    """The files an ingest of the watch looked at (from the job's summary)."""
    shown = [f for f in files if f["status"] != "skipped"]
    if not shown:
        return
    table = Table(title="Eingelesene Dateien")
    for col in ("Datei", "Status", "gelesen", "geladen", "Quarantäne", "Hinweis"):
        table.add_column(col)
    for f in shown:
        status = _file_status(f["status"])
        row = (f["file"], status, str(f["rows_read"]), str(f["rows_loaded"]), str(f["rows_quarantined"]))
        table.add_row(*row, esc(f["message"] or ""))
    stdout.print(table)


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
