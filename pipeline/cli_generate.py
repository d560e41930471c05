"""Command line, continued: ``generate`` and ``demo`` (synthetic exports, and a whole run on them), registered
on the app of :mod:`pipeline.cli`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli import ConfigOpt, QuietOpt, _as_of, _bar, _friendly, _run, app, stdout
from pipeline.config import ConfigError, load_config


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
    office_forms: Annotated[
        bool,
        typer.Option(
            "--office-forms",
            help="zusätzlich die Büro-Formen (Excel/LibreOffice neu gespeichert) je in <out>/.office-forms/<Form>/",
        ),
    ] = False,
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
    if office_forms:
        from pipeline.generate import office

        written = office.write_forms(out, out / ".office-forms")
        if not quiet:
            stdout.print(f"{len(written)} Büro-Formen in {out / '.office-forms'} (Erwartung: forms.json)")


@app.command("demo")
@_friendly
def demo_cmd(
    config: ConfigOpt = Path("config.toml"), households: int = 60, seed: int = 1, quiet: QuietOpt = False
) -> None:
    """Demo: Testdaten erzeugen (demo/inbox, eigene Datenbank) und den ganzen Lauf nach outputs/demo/."""
    from pipeline import generate, runs

    cfg = load_config(config)
    demo_cfg = runs.demo_config(cfg)
    result = generate.generate(demo_cfg.inbox, households=households, seed=seed, config=cfg)
    period = result.cycles[-1]
    if not quiet:
        stdout.print(f"Demo-Exporte: {len(result.files)} Dateien in {demo_cfg.inbox}; Zyklus {period}")
    _run(demo_cfg, period, None, quiet, "demo")
