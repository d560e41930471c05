"""The benchmark steps, each run in its own child process by ``run.py --child STEP``.

Every step writes ``<workdir>/n<size>/step_<name>.json`` with its inner timings (the work itself, without
interpreter start-up) and whatever it wants to report; the parent adds wall time and peak memory.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import shutil
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SEED = 7
DEFECTS = 0.0  # clean exports: the pandas baseline (which knows no quarantine) must agree with the pipeline


def size_dir(workdir: Path, size: int) -> Path:
    return workdir / f"n{size}"


def _write(d: Path, step: str, data: dict) -> None:
    (d / f"step_{step}.json").write_text(json.dumps(data, indent=1, default=str))


class Timers:
    """Accumulated seconds per named part, filled by wrapping module functions."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, module, name: str, key: str | None = None) -> None:
        orig = getattr(module, name)
        key = key or name

        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return orig(*args, **kwargs)
            finally:
                self.seconds[key] += time.perf_counter() - t
                self.calls[key] += 1

        setattr(module, name, wrapper)

    @contextmanager
    def part(self, key: str):
        t = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[key] += time.perf_counter() - t

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 3) for k, v in self.seconds.items()}


# --- config -------------------------------------------------------------------------------------------


def write_config(d: Path, size: int, n_cycles: int) -> None:
    """The project's config.toml with paths inside ``d`` and places/coach FTE scaled to the size.

    The generator spreads the households evenly over the cycles; 30 places per cycle would make
    utilisation (K17) absurd at 100,000 households, so places grow with the size.
    """
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    per_cycle = max(1, size // max(1, n_cycles))
    places = max(30, per_cycle // 2)
    text = re.sub(r"(?m)^places = \d+", f"places = {places}", text)
    text = re.sub(r"(?m)^coach_fte = [\d.]+", f"coach_fte = {max(2.0, places / 15):.1f}", text)
    paths = {"inbox": "inbox", "archive": "archive", "database": "data/esf.duckdb", "outputs": "outputs"}
    for key, value in paths.items():
        text = re.sub(rf'(?m)^{key} = "[^"]*"', f'{key} = "{value}"', text)
    (d / "config.toml").write_text(text, encoding="utf-8")
    e2e = text
    for key, value in {"archive": "e2e/archive", "database": "e2e/data/esf.duckdb", "outputs": "e2e/outputs"}.items():
        e2e = re.sub(rf'(?m)^{key} = "[^"]*"', f'{key} = "{value}"', e2e)
    (d / "config_e2e.toml").write_text(e2e, encoding="utf-8")


def _config(d: Path):
    from pipeline.config import load_config

    return load_config(d / "config.toml")


def _info(d: Path) -> dict:
    return json.loads((d / "generate.json").read_text())


# --- steps --------------------------------------------------------------------------------------------


def step_generate(size: int, d: Path) -> dict:
    from pipeline import generate
    from pipeline.config import load_config

    for sub in ("inbox", "archive", "data", "outputs", "e2e", "scan"):
        shutil.rmtree(d / sub, ignore_errors=True)
    cycles = generate.default_cycles(load_config(ROOT / "config.toml"))
    write_config(d, size, len(cycles))
    cfg = _config(d)
    t = time.perf_counter()
    res = generate.generate(cfg.inbox, households=size, seed=SEED, cycles=cycles, defects=DEFECTS, config=cfg)
    seconds = time.perf_counter() - t
    # the cycle report of the indicators step: the cohort with the most households (the first on a tie)
    cycle = res.cycles[0]
    info = {
        "seconds": round(seconds, 3),
        "cycles": res.cycles,
        "cycle": cycle,
        "snapshots": [s.isoformat() for s in res.snapshot_dates],
        "row_counts": res.row_counts,
        "file_rows": res.file_rows,
        "files": [p.name for p in res.files],
        "bytes": sum(p.stat().st_size for p in res.files),
        "defects": DEFECTS,
    }
    (d / "generate.json").write_text(json.dumps(info, indent=1))
    return info


def step_ingest(size: int, d: Path) -> dict:
    from pipeline import inbox, ingest, load, read, validate
    from pipeline import map as mapping

    cfg = _config(d)
    for sub in ("archive", "data"):
        shutil.rmtree(d / sub, ignore_errors=True)
    timers = Timers()
    timers.wrap(inbox, "file_sha256", "hash")
    timers.wrap(inbox, "archive_copy", "archive")  # the inbox's preparation archives; ingest archives what it skipped
    timers.wrap(ingest, "archive_copy", "archive")
    timers.wrap(read, "decode", "decode")
    timers.wrap(load, "load_file", "load")
    timers.wrap(load, "insert_raw", "load_raw")
    timers.wrap(mapping, "build_label_map", "load_labelmap")
    timers.wrap(load, "record_vanished", "vanished")
    timers.wrap(validate, "validate_file", "validate_file")
    timers.wrap(validate, "validate_cross_table", "validate_cross")
    engines: list[str] = []
    orig_vf = validate.validate_file

    per_table: dict[str, float] = defaultdict(float)

    gx_max_rows = os.environ.get("BENCH_GX_MAX_ROWS")  # experiment: another GX/SQL engine threshold

    def vf(*args, **kwargs):
        t = time.perf_counter()
        if gx_max_rows is not None:
            kwargs["gx_max_rows"] = int(gx_max_rows)
        res = orig_vf(*args, **kwargs)
        per_table[f"validate_{args[1]}_{getattr(res, 'engine', '?')}"] += time.perf_counter() - t
        engines.append(getattr(res, "engine", "?"))
        return res

    orig_load = load.load_file

    def lf(con, export, *args, **kwargs):
        t = time.perf_counter()
        try:
            return orig_load(con, export, *args, **kwargs)
        finally:
            per_table[f"load_{export.table.name}"] += time.perf_counter() - t

    load.load_file = lf

    validate.validate_file = vf
    t = time.perf_counter()
    res = ingest.ingest(cfg)
    seconds = time.perf_counter() - t
    parts = timers.as_dict()
    parts["load_typed"] = round(parts.get("load", 0) - parts.get("load_raw", 0) - parts.get("load_labelmap", 0), 3)
    parts["validation"] = round(parts.get("validate_file", 0) + parts.get("validate_cross", 0), 3)
    parts["ingest_without_validation"] = round(seconds - parts["validation"], 3)
    import duckdb

    con = duckdb.connect(str(cfg.database), read_only=True)
    try:
        problems = dict(con.execute("SELECT severity, count(*) FROM problems GROUP BY 1").fetchall())
        db_bytes = cfg.database.stat().st_size
    finally:
        con.close()
    return {
        "seconds": round(seconds, 3),
        "parts": parts,
        "validation_engines": sorted(set(engines)),
        "per_table": {k: round(v, 3) for k, v in sorted(per_table.items())},
        "gx_max_rows": gx_max_rows or "default",
        "files": {f.file_name: {"status": f.status, "rows": f.rows_read, "quarantined": f.rows_quarantined}
                  for f in res.files},
        "rows_read": sum(f.rows_read for f in res.files),
        "rows_quarantined": sum(f.rows_quarantined for f in res.files),
        "failed": [f.file_name for f in res.failed],
        "problems": problems,
        "db_mb": round(db_bytes / 2**20, 1),
    }


def _encoding(path: Path) -> str:
    """What the scan needs to know: BOM, valid UTF-8, else Windows-1252 (full read, timed as preparation)."""
    with path.open("rb") as fh:
        if fh.read(3) == codecs.BOM_UTF8:
            return "utf-8-sig"
        fh.seek(0)
        dec = codecs.getincrementaldecoder("utf-8")("strict")
        try:
            while chunk := fh.read(1 << 22):
                dec.decode(chunk)
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8"


def _separator(path: Path, encoding: str) -> str:
    with path.open("r", encoding=encoding, newline="") as fh:
        first = fh.readline()
    counts = {s: first.count(s) for s in (";", ",", "\t")}
    return max(counts, key=counts.get)


def _xlsx_into_duckdb(con, path: Path, table: str) -> int:
    """python-calamine reads the first sheet, DuckDB takes it as a table of text (the floor of XLSX reading)."""
    import pandas as pd
    import python_calamine

    with python_calamine.CalamineWorkbook.from_path(str(path)) as wb:
        rows = wb.get_sheet_by_index(0).to_python()
    frame = pd.DataFrame(rows[1:], columns=[str(h) for h in rows[0]], dtype=object).astype(str)  # noqa: F841
    con.execute(f"CREATE TABLE {table} AS SELECT * FROM frame")
    return len(rows) - 1


def step_floor(size: int, d: Path) -> dict:
    """The floor: DuckDB ``read_csv`` of every CSV (already UTF-8) plus python-calamine reading every XLSX
    into DuckDB. Making the CSVs UTF-8 (Windows-1252 exports) is done first and not counted."""
    import duckdb

    scan = d / "scan"
    shutil.rmtree(scan, ignore_errors=True)
    scan.mkdir()
    info = _info(d)
    timers = Timers()
    csvs: list[tuple[str, Path, str]] = []
    xlsx: list[tuple[str, Path]] = []
    for name in info["files"]:
        path = d / "inbox" / name
        if path.suffix.lower() == ".xlsx":
            xlsx.append((name, path))
            continue
        with timers.part("uncounted_detect"):
            enc = _encoding(path)
            sep = _separator(path, enc)
        if enc == "cp1252":
            out = scan / (path.stem + ".utf8.csv")
            with timers.part("uncounted_transcode"):
                with path.open("r", encoding="cp1252", newline="") as src, out.open(
                    "w", encoding="utf-8", newline=""
                ) as dst:
                    while chunk := src.read(1 << 22):
                        dst.write(chunk)
            csvs.append((name, out, sep))
        else:
            csvs.append((name, path, sep))
    _warm(p for _, p, _ in csvs)
    con = duckdb.connect(str(scan / "scan.duckdb"))
    rows = {}
    try:
        with timers.part("duckdb_read_csv"):
            for i, (name, path, sep) in enumerate(csvs):
                con.execute(
                    f"CREATE TABLE t{i} AS SELECT * FROM read_csv(?, delim='{sep}', quote='\"', escape='\"', "
                    "header=true, all_varchar=true)",
                    [str(path)],
                )
                rows[name] = con.execute(f"SELECT count(*) FROM t{i}").fetchone()[0]
        with timers.part("calamine_xlsx"):
            for i, (name, path) in enumerate(xlsx):
                rows[name] = _xlsx_into_duckdb(con, path, f"x{i}")
        with timers.part("duckdb_read_csv"):
            con.execute("CHECKPOINT")
    finally:
        con.close()
    parts = timers.as_dict()
    return {
        "seconds": round(parts.get("duckdb_read_csv", 0) + parts.get("calamine_xlsx", 0), 3),
        "duckdb_only": parts.get("duckdb_read_csv", 0),
        "xlsx_calamine": parts.get("calamine_xlsx", 0),
        "parts": parts,
        "rows": rows,
    }


def _warm(paths) -> None:
    """Transcoded copies into the page cache as well (the inputs are warmed by run.py)."""
    for path in paths:
        with Path(path).open("rb") as fh:
            while fh.read(1 << 24):
                pass


def step_indicators(size: int, d: Path) -> dict:
    from pipeline import db, indicators

    cfg = _config(d)
    timers = Timers()
    with timers.part("connect"):
        con = db.connect(cfg.database, read_only=True)
    try:
        with timers.part("compute"):
            db.create_current_views(con)
            result = indicators.compute(con, cfg, _info(d)["cycle"], audience="foerdergeber")
    finally:
        con.close()
    with timers.part("write_csv"):
        path = indicators.write_csv(result, d / "outputs" / "bench" / "indicators.csv")
    parts = timers.as_dict()
    return {"seconds": parts["compute"], "parts": parts, "rows": len(result.table), "csv": str(path)}


def step_reports(size: int, d: Path) -> dict:
    from pipeline import db, indicators
    from pipeline.reports import render_reports

    cfg = _config(d)
    timers = Timers()
    files = []
    for audience in ("foerdergeber", "intern"):
        con = db.connect(cfg.database, read_only=True)
        try:
            with timers.part(f"indicators_{audience}"):
                db.create_current_views(con)
                result = indicators.compute(con, cfg, _info(d)["cycle"], audience=audience)
            with timers.part(f"render_{audience}"):
                db.create_current_views(con, result.data_state)
                files += render_reports(con, cfg, result, audience, d / "outputs" / "bench" / audience)
        finally:
            con.close()
    parts = timers.as_dict()
    render = parts["render_foerdergeber"] + parts["render_intern"]
    return {"seconds": round(render, 3), "parts": parts, "files": [p.name for p in files]}


def step_pandas(size: int, d: Path) -> dict:
    import pandas_baseline

    info = _info(d)
    cfg = _config(d)
    out = pandas_baseline.run(d / "inbox", cfg, info["cycle"])
    comparison = None
    csv_path = d / "outputs" / "bench" / "indicators.csv"
    if csv_path.exists():
        comparison = pandas_baseline.compare(out["values"], csv_path)
    out["agrees_with_pipeline"] = comparison
    return out


HEAVY = ("great_expectations", "weasyprint", "matplotlib", "pandas", "openpyxl", "python_calamine")
STARTUP_COMMANDS = {
    "--help": ["--help"],
    "ingest (unverändert)": ["ingest", "--config", "{config}", "--quiet"],
    "indicators": ["indicators", "--period", "{cycle}", "--config", "{config}", "--quiet", "--out", "{out}"],
    "validate": ["validate", "--config", "{config}", "--quiet", "--out", "{out}/validation"],
}


def importtime(args: list[str]) -> dict:
    """One CLI command under ``python -X importtime``: wall time, summed import time, heavy packages loaded."""
    import subprocess

    cmd = [sys.executable, "-X", "importtime", "-m", "pipeline", *args]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t
    total, heavy = 0, []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\s*)(\S+)", line)
        if not m:
            continue
        if not m[2]:  # top level: its cumulative time holds everything it imported
            total += int(m[1])
        if m[3] in HEAVY:
            heavy.append(m[3])
    return {"exit": proc.returncode, "wall_s": round(wall, 3), "import_s": round(total / 1e6, 3),
            "heavy": sorted(set(heavy))}


def step_startup(size: int, d: Path) -> dict:
    """Start-up of each command (issue 15): what it imports and how long that takes (after ingest)."""
    info = _info(d)
    out = d / "outputs" / "startup"
    res = {}
    for name, args in STARTUP_COMMANDS.items():
        args = [a.format(config=d / "config.toml", cycle=info["cycle"], out=out) for a in args]
        res[name] = importtime(args)
    return {"seconds": round(sum(r["wall_s"] for r in res.values()), 3), "commands": res}


STEPS = {
    "generate": step_generate,
    "ingest": step_ingest,
    "floor": step_floor,
    "indicators": step_indicators,
    "reports": step_reports,
    "pandas": step_pandas,
    "startup": step_startup,
}


def run_step(step: str, size: int, workdir: Path) -> None:
    d = size_dir(workdir, size)
    d.mkdir(parents=True, exist_ok=True)
    _write(d, step, STEPS[step](size, d))
