"""Synthetic exports of the case-management tool, in every dialect of exports.md (``esf-pipeline generate``).

Same arguments ⇒ byte-identical files. Households are generated in fixed-size chunks (each a pure function
of seed and index), contacts vectorised with numpy, CSV written through large buffers: 100,000 households
(≈ 10 million contacts) run in bounded memory. Tables with more than ``XLSX_MAX_ROWS`` rows are written
as CSV instead of XLSX. Optional defects are injected into the final snapshot only and listed in
``<out>/.generator/defects.csv``; ``manifest.json`` holds seed, sizes, dates and counts (no personal values).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline import model
from pipeline.config import Config, load_config
from pipeline.generate.contacts import make_contacts, topic_strings
from pipeline.generate.defects import ALL_KINDS, Injector
from pipeline.generate.files import XLSX_MAX_ROWS, CsvOut, Dialect, de_date, write_xlsx
from pipeline.generate.households import Plan, make_household
from pipeline.generate.rows import LazyCtx, export_labels, followup_rows, help_rows, household_row, person_rows
from pipeline.generate.world import add_months, ags_codes, name_pools

__all__ = ["GenerateResult", "generate", "default_cycles", "default_snapshot", "DIALECTS", "EXTRA_CONTACT_COLUMN"]

CHUNK = 1000  # households per chunk: fixed, the output does not depend on it only because it never changes
EXTRA_CONTACT_COLUMN = "Bemerkung"
REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.toml"
DIALECTS = {
    "households": Dialect("utf-8-sig", ";", "\r\n"),  # used only above XLSX_MAX_ROWS, else XLSX
    "persons": Dialect("cp1252", ";", "\r\n"),
    "contacts": Dialect("utf-8-sig", ";", "\n"),
    "helps": Dialect("utf-8-sig", ",", "\r\n"),
    "followups": Dialect("cp1252", ";", "\r\n"),  # used only above XLSX_MAX_ROWS, else XLSX
}
TABLE_ORDER = ("households", "persons", "contacts", "helps", "followups")


@dataclass
class GenerateResult:
    out_dir: Path
    files: list[Path]  # export files, final snapshot first
    cycles: list[str]
    snapshot_dates: list[dt.date]  # final snapshot last
    row_counts: dict[str, int]  # table -> data rows in the final snapshot
    file_rows: dict[str, int] = field(default_factory=dict)  # file name -> data rows
    n_defects: int = 0  # rows of defects.csv
    defects_file: Path | None = None
    manifest_file: Path | None = None
    seconds: float = 0.0


def default_cycles(config: Config) -> list[str]:
    """``2024`` and ``2025`` when configured, else the last two cycles that have ended."""
    if config.cycle("2024") and config.cycle("2025"):
        return ["2024", "2025"]
    today = dt.date.today()
    ended = [c.id for c in sorted(config.cycles, key=lambda c: c.end) if c.end < today]
    return ended[-2:] or [config.cycles[-1].id]


def default_snapshot(config: Config, cycles: list[str]) -> dt.date:
    """End of the last cycle + 6 months (follow-ups are due), but not after today."""
    last_end = max(config.cycle(c).end for c in cycles)
    return min(add_months(last_end, 6), dt.date.today())


# ---- the run -----------------------------------------------------------------------------------------------


def _file_name(table: str, snap: dt.date, ext: str) -> str:
    return f"{model.tables()[table].file_prefix}_{snap:%Y%m%d}.{ext}"


def _write_sheet_table(out_dir: Path, table: str, snap: dt.date, header: list[str], rows: list[list]) -> Path:
    """A table the tool exports as XLSX (dates as date cells); as CSV with German dates above XLSX_MAX_ROWS."""
    if len(rows) <= XLSX_MAX_ROWS:
        path = out_dir / _file_name(table, snap, "xlsx")
        write_xlsx(path, header, rows)
    else:
        path = out_dir / _file_name(table, snap, "csv")
        o = CsvOut(path, header, DIALECTS[table])
        o.write([[de_date(v) if isinstance(v, dt.date) else v for v in r] for r in rows])
        o.close()
    return path


def generate(
    out_dir: Path,
    households: int = 60,
    seed: int = 1,
    cycles: list[str] | None = None,
    defects: float = 0.0,
    config: Config | None = None,
    snapshot_date: dt.date | None = None,
    snapshots: int = 2,
    progress: Callable[[str, int, int], None] | None = None,
) -> GenerateResult:
    """Write a synthetic export set (five tables, final and optionally an earlier snapshot) into ``out_dir``."""
    t0 = time.perf_counter()
    cfg = config or load_config(REPO_CONFIG)
    cycle_ids = list(cycles) if cycles else default_cycles(cfg)
    for c in cycle_ids:
        if cfg.cycle(c) is None:
            raise ValueError(f"Zyklus {c!r} ist in der Konfiguration nicht angelegt")
    if households < 1:
        raise ValueError("households must be ≥ 1")
    if not 0 <= defects <= 0.5:
        raise ValueError("defects must be between 0 and 0.5")
    final = snapshot_date or default_snapshot(cfg, cycle_ids)
    snaps = [add_months(final, -3), final] if snapshots >= 2 else [final]
    early = snaps[0] if len(snaps) > 1 else None

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    gen_dir = out_dir / ".generator"
    L = export_labels()
    tables = model.tables()
    headers = {t: [c.header for c in tables[t].columns] for t in TABLE_ORDER}

    # households per cycle, evenly; ids padded to the largest cohort
    per, rest = divmod(households, len(cycle_ids))
    spec, first = [], 0
    for i, cid in enumerate(cycle_ids):
        n = per + (1 if i < rest else 0)
        c = cfg.cycle(cid)
        spec.append((cid, c.start, c.end, first, n))
        first += n
    width = max(3, len(str(per + 1)))
    plan = Plan(seed, tuple(spec), final, name_pools(seed), tuple(ags_codes(cfg.esf.rural_municipalities)), width)
    min_start = min(s[1] for s in spec)
    date_base = (min_start - dt.timedelta(days=400)).toordinal()
    date_text = [de_date(dt.date.fromordinal(o)) for o in range(date_base, final.toordinal() + 60)]
    topics = topic_strings(np.random.default_rng([seed, 99]), L["topic"])
    contact_width = max(8, len(str(households * 160)))
    missing_hid = f"BG-{cycle_ids[-1]}-{'9' * (width + 1)}"

    injector = Injector(defects, seed)
    csv_out: dict[tuple[str, dt.date], CsvOut] = {}
    for snap in snaps:
        for t in ("persons", "contacts", "helps"):
            hdr = headers[t] + ([EXTRA_CONTACT_COLUMN] if t == "contacts" else [])
            csv_out[(t, snap)] = CsvOut(out_dir / _file_name(t, snap, "csv"), hdr, DIALECTS[t])
    hh_rows: dict[dt.date, list[list]] = {s: [] for s in snaps}
    fu_rows: list[list] = []
    next_contact = 1
    vanished_done = early is None
    n_chunks = (households + CHUNK - 1) // CHUNK
    try:
        for chunk in range(n_chunks):
            lo, hi = chunk * CHUNK, min(households, (chunk + 1) * CHUNK)
            hhs = [make_household(plan, i) for i in range(lo, hi)]
            rng = random.Random(f"noise/{seed}/{chunk}")
            for snap in snaps:
                is_final = snap == final
                present = [h for h in hhs if h.entry <= snap]
                # households: final snapshot with real Excel dates, the earlier one as text with AGS as number
                rows = [household_row(h, snap, L, rng, date_cells=is_final, ags_number=not is_final) for h in present]
                if is_final:
                    ctx = [{"entry": h.entry, "snapshot": final} for h in present]
                    injector.inject("households", rows, ctx, 2 + len(hh_rows[snap]), chunk)
                hh_rows[snap].extend(rows)
                prow, pctx = [], []
                for h in present:
                    r, c = person_rows(h, snap, L, rng)
                    prow += r
                    pctx += c
                out = csv_out[("persons", snap)]
                if is_final:
                    injector.inject("persons", prow, pctx, 2 + out.rows, chunk)
                out.write(prow)
                hrow, hctx = [], []
                for k, h in enumerate(present):
                    r, c = help_rows(h, snap, L, rng)
                    other = present[(k + 1) % len(present)]
                    foreign = other.persons[0].pid if other is not h else "P9999999991"
                    hrow += r
                    hctx += [{**x, "foreign_pid": foreign, "missing_hid": missing_hid} for x in c]
                out = csv_out[("helps", snap)]
                if is_final:
                    injector.inject("helps", hrow, hctx, 2 + out.rows, chunk)
                out.write(hrow)
            # contacts: generated once up to the final snapshot, the earlier snapshot is the prefix in time
            present = [h for h in hhs if h.entry <= final]
            cc = make_contacts(
                np.random.default_rng([seed, chunk, 7]),
                present,
                final,
                next_contact,
                contact_width,
                date_text,
                date_base,
                L,
                topics,
            )
            next_contact += len(cc.rows)
            final_rows = cc.rows
            if early is not None:
                early_mask = cc.date_ord <= early.toordinal()
                early_rows = [r for r, m in zip(cc.rows, early_mask.tolist(), strict=True) if m]
                csv_out[("contacts", early)].write(early_rows)
                if not vanished_done and early_rows:
                    # one contact of the earlier snapshot is deleted in the tool before the final export
                    gone = int(np.flatnonzero(early_mask)[len(early_rows) // 2])
                    final_rows = cc.rows[:gone] + cc.rows[gone + 1 :]
                    cc.date_ord = np.delete(cc.date_ord, gone)
                    cc.hh_pos = np.delete(cc.hh_pos, gone)
                    vanished_done = True
            out = csv_out[("contacts", final)]
            if defects > 0:
                hpos, dord = cc.hh_pos, cc.date_ord

                def cctx(i, hpos=hpos, dord=dord, present=present):
                    h = present[int(hpos[i])]
                    other = present[(int(hpos[i]) + 1) % len(present)]
                    foreign = other.persons[0].pid if other is not h else "P9999999991"
                    return {
                        "entry": h.entry,
                        "date": dt.date.fromordinal(int(dord[i])),
                        "missing_hid": missing_hid,
                        "foreign_pid": foreign,
                    }

                injector.inject("contacts", final_rows, LazyCtx(cctx, len(final_rows)), 2 + out.rows, chunk)
            out.write(final_rows)
            frows = []
            for h in hhs:
                frows += followup_rows(h, L, rng, date_cells=True)
            if defects > 0:
                injector.inject("followups", frows, [{}] * len(frows), 2 + len(fu_rows), chunk)
            fu_rows.extend(frows)
            if progress:
                progress("Haushalte", hi, households)
    finally:
        for o in csv_out.values():
            o.close()

    files: list[Path] = []
    file_rows: dict[str, int] = {}
    for snap in reversed(snaps):
        rows = hh_rows[snap]
        path = _write_sheet_table(out_dir, "households", snap, headers["households"], rows)
        files.append(path)
        file_rows[path.name] = len(rows)
        for t in ("persons", "contacts", "helps"):
            o = csv_out[(t, snap)]
            files.append(o.path)
            file_rows[o.path.name] = o.rows
        if snap == final:
            path = _write_sheet_table(out_dir, "followups", final, headers["followups"], fu_rows)
            files.append(path)
            file_rows[path.name] = len(fu_rows)
    final_files = {
        t: next(p for p in files if p.name.startswith(tables[t].file_prefix + "_") and f"{final:%Y%m%d}" in p.name)
        for t in TABLE_ORDER
    }
    row_counts = {t: file_rows[final_files[t].name] for t in TABLE_ORDER}

    gen_dir.mkdir(exist_ok=True)
    defects_file = None
    records = sorted(set(injector.records), key=lambda r: (TABLE_ORDER.index(r[0]), r[1], r[2], r[3]))
    if defects > 0:
        defects_file = gen_dir / "defects.csv"
        with defects_file.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["table", "file_name", "source_row", "column", "kind"])
            for table, row, column, kind in records:
                w.writerow([table, final_files[table].name, row, column, kind])
    elif (gen_dir / "defects.csv").exists():
        (gen_dir / "defects.csv").unlink()
    kinds_used = sorted({r[3] for r in records})
    manifest = {
        "generator": "esf-pipeline generate",
        "seed": seed,
        "households": households,
        "cycles": cycle_ids,
        "snapshot_dates": [s.isoformat() for s in snaps],
        "defects_share": defects,
        "n_defects": len(records),
        "defect_kinds": kinds_used,
        "defect_kinds_missing": [k for k in ALL_KINDS if k not in kinds_used] if defects > 0 else [],
        "vanished_contacts": 1 if early is not None and vanished_done else 0,
        "extra_columns": {"contacts": [EXTRA_CONTACT_COLUMN]},
        "files": {p.name: {"rows": file_rows[p.name], "dialect": _dialect_of(p)} for p in files},
        "row_counts": row_counts,
    }
    manifest_file = gen_dir / "manifest.json"
    manifest_file.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return GenerateResult(
        out_dir,
        files,
        cycle_ids,
        snaps,
        row_counts,
        file_rows,
        len(records),
        defects_file,
        manifest_file,
        round(time.perf_counter() - t0, 2),
    )


def _dialect_of(path: Path) -> str:
    if path.suffix == ".xlsx":
        return "xlsx"
    table = next(t for t in TABLE_ORDER if path.name.startswith(model.tables()[t].file_prefix + "_"))
    return DIALECTS[table].describe()
