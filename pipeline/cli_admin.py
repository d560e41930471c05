"""Command line, continued: ``jobs``, ``retention``, ``erase`` and ``serve`` (the history, data protection and
the web page), registered on the app of :mod:`pipeline.cli`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pipeline.cli import (
    ConfigOpt,
    DbOpt,
    QuietOpt,
    UserError,
    _audit,
    _config,
    _friendly,
    app,
    stdout,
)
from pipeline.config import ConfigError


@app.command("jobs")
@_friendly
def jobs_cmd(
    limit: Annotated[int, typer.Option("--limit", min=1, help="wie viele")] = 20,
    db: DbOpt = None,
    config: ConfigOpt = Path("config.toml"),
) -> None:
    """Die letzten Aufträge (Einlesen, Abholen, Berichte …) mit Ergebnis auflisten."""
    from pipeline import jobs

    cfg = _config(config, db=db)
    table = Table(title="Aufträge")
    for col in ("Beginn", "Ende", "Auftrag", "über", "Ergebnis", "Dateien", "Meldung"):
        table.add_column(col)
    for j in jobs.history(cfg, limit=limit):
        table.add_row(
            f"{j.started or j.created:%d.%m.%Y %H:%M:%S}",
            f"{j.ended:%H:%M:%S}" if j.ended else "–",
            j.kind_label,
            j.face,
            j.outcome_label,
            ", ".join(j.files),
            j.message,
        )
    stdout.print(table)


@app.command("retention")
@_friendly
def retention_cmd(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="nur anzeigen, nichts löschen")] = False,
    db: DbOpt = None,
    config: ConfigOpt = Path("config.toml"),
    quiet: QuietOpt = False,
) -> None:
    """Daten löschen, deren Aufbewahrungsfrist (je Förderperiode) abgelaufen ist."""
    from pipeline import runs

    cfg = _config(config, db=db)
    rep = runs.purge(cfg, dry_run=dry_run)
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
    from pipeline import runs

    cfg = _config(config, db=db)
    try:
        runs.erase(cfg, person_id, note)
    except UserError:
        _audit(cfg, "erasure_refused", "Person-ID unbekannt")
        raise
    _audit(cfg, "erasure", "Löschersuchen erfasst (Person-ID nicht protokolliert)")
    stdout.print(
        f"Löschersuchen für {person_id} erfasst. Die Person ist ab sofort von Auswertungen für Analysten "
        "ausgenommen (Art. 18 DSGVO); ihre Daten werden mit Ablauf der Aufbewahrungsfrist gelöscht "
        "(Art. 17 Abs. 3 lit. b DSGVO: ESF-Nachweispflicht). Mit 'esf-pipeline retention' ausführen."
    )


@app.command("serve")
@_friendly
def serve_cmd(
    config: ConfigOpt = Path("config.toml"),
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port (0: einen freien wählen)")] = 8765,
    host: Annotated[str, typer.Option("--host", help="Adresse; nicht-lokal nur mit Passwort")] = "127.0.0.1",
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Browser nicht öffnen")] = False,
    set_password: Annotated[
        bool, typer.Option("--set-password", help="Passwort festlegen (als Hash) und enden")
    ] = False,
    db: DbOpt = None,
) -> None:
    """Lokale Webseite starten: Lieferung, Prüfergebnis, Berichte, Kennzahlen (Anmeldelink wird ausgegeben)."""
    from pipeline.web import auth, serve

    cfg = _config(config, db=db)
    if set_password:
        pw = typer.prompt("Neues Passwort", hide_input=True, confirmation_prompt=True)
        if len(pw) < 10:
            raise ConfigError("Das Passwort braucht mindestens 10 Zeichen.")
        stdout.print(f"Passwort-Hash gespeichert in {auth.write_password(cfg, pw)} (nur für diesen Benutzer lesbar).")
        return
    serve.serve(cfg, host=host, port=port, open_browser=not no_browser, say=stdout.print, config_path=config.resolve())
