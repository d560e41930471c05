#!/usr/bin/env python
"""Speed and scale benchmark of the pipeline (issue 7): ``make bench`` or ``python benchmarks/run.py``.

For every size (households) it generates a seeded export set, then runs each step in a fresh subprocess so
that wall time and peak memory (``ru_maxrss`` of that child, from ``os.wait4``) belong to that step alone:

* ``generate``    synthetic exports (``pipeline.generate``) with a config whose cycles and places fit the size
* ``ingest``      ``pipeline.ingest.ingest`` into a fresh database (read, map, load, validation per file and
                  across tables); the child times the parts (decode, load, validation) from inside
* ``floor``       DuckDB ``read_csv`` of every CSV (made UTF-8 first, not counted) plus python-calamine reading
                  every XLSX into DuckDB: what any reader of these files pays
* ``validate``    ``esf-pipeline validate`` (validation workbook and Data Docs) on the ingested database
* ``indicators``  ``indicators.compute`` for one cycle (the largest cohort)
* ``reports``     ``render_reports`` for ``foerdergeber`` and ``intern``
* ``pandas``      the baseline: K01, K05, K09, EECO01–EECO05 in plain pandas from the same files
* ``startup``     each command (--help, ingest of the unchanged inbox, indicators, validate) under
                  ``python -X importtime``: wall time, import time, which heavy packages it loads
* ``e2e``         ``esf-pipeline run`` end to end (fresh database; sizes up to ``--e2e-max``), interleaved
                  ``--repeat`` times with ``stack_import``: a bare ``python -c "import great_expectations,
                  weasyprint, matplotlib.pyplot, duckdb, pandas, openpyxl"``, the yardstick of the machine

Targets are ratios of figures measured in the same run (see report.py), so they hold on any machine.

Results: ``<workdir>/results.json`` (merged across runs) and a Markdown report (``--results``, default
``benchmarks/RESULTS.md``). Text below the line ``<!-- analysis -->`` of an existing report is kept.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

STEPS = ("generate", "ingest", "floor", "validate", "indicators", "reports", "pandas", "startup", "e2e")
STACK_IMPORT = "import great_expectations, weasyprint, matplotlib.pyplot, duckdb, pandas, openpyxl"
CLI_STEPS = ("e2e", "validate", "stack_import")
DEFAULT_SIZES = (30, 3000, 30000, 100000, 300000)  # 300 000: how cost and memory grow
SEED = 7


# --- parent: orchestration --------------------------------------------------------------------------


def size_dir(workdir: Path, size: int) -> Path:
    return workdir / f"n{size}"


def run_child(step: str, size: int, workdir: Path, timeout: float) -> dict:
    """Run one step in a fresh interpreter; wall time and peak RSS of exactly that process tree."""
    d = size_dir(workdir, size)
    d.mkdir(parents=True, exist_ok=True)
    out_json = d / f"step_{step}.json"
    out_json.unlink(missing_ok=True)
    log = d / f"step_{step}.log"
    exe = Path(sys.executable).parent / "esf-pipeline"
    cli = [str(exe)] if exe.exists() else [sys.executable, "-m", "pipeline"]
    if step == "e2e":
        info = json.loads((d / "generate.json").read_text())
        cmd = cli + ["run", "--period", info["cycle"], "--config", str(d / "config_e2e.toml"), "--quiet"]
        _prepare_e2e(d)
    elif step == "validate":
        cmd = cli + ["validate", "--config", str(d / "config.toml"), "--quiet"]
    elif step == "stack_import":
        cmd = [sys.executable, "-c", STACK_IMPORT]
    else:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", step, "--size", str(size),
               "--workdir", str(workdir)]
    if step in ("ingest", "floor", "pandas", "e2e"):
        _warm_page_cache(d / "inbox")
    if step in ("indicators", "reports", "validate"):
        _warm_page_cache(d / "data")  # the database: these steps' input, warmed as the exports are for pandas
    env = {**os.environ, "GX_ANALYTICS_ENABLED": "False", "PYTHONHASHSEED": "0"}
    env.setdefault("ESF_PIPELINE_KEY", "benchmark-key-not-secret")
    t0 = time.perf_counter()
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        status, usage = _wait(proc, timeout)
    wall = time.perf_counter() - t0
    result = {"step": step, "size": size, "wall_s": round(wall, 3), "peak_mb": round(usage.ru_maxrss / 1024, 1),
              "user_s": round(usage.ru_utime, 2), "sys_s": round(usage.ru_stime, 2), "exit": status,
              "load_before": round(os.getloadavg()[0], 2)}
    if status != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-15:]
        result["error"] = "\n".join(tail) or f"exit {status}"
    elif out_json.exists():
        result["inner"] = json.loads(out_json.read_text())
    if step in CLI_STEPS and status == 0:
        result["inner"] = {"seconds": round(wall, 3)}
    return result


def run_pairs(size: int, workdir: Path, timeout: float, repeat: int) -> dict:
    """``stack_import`` and ``e2e`` alternately, ``repeat`` times: each e2e run is set against the import run
    just before it (same machine load); the median run of each and the median of the pair ratios count."""
    runs: dict[str, list[dict]] = {"stack_import": [], "e2e": []}
    for i in range(max(1, repeat)):
        for step in runs:
            print(f"n={size} {step} ({i + 1}/{repeat}) …", file=sys.stderr, flush=True)
            res = run_child(step, size, workdir, timeout)
            res["load_after"] = round(os.getloadavg()[0], 2)
            runs[step].append(res)
            print(f"  {res['wall_s']:.2f} s, {res['peak_mb']:.0f} MB" + (" FAILED" if res["exit"] else ""),
                  file=sys.stderr, flush=True)
    out = {}
    for step, rs in runs.items():
        ok = [r for r in rs if r["exit"] == 0]
        pick = sorted(ok, key=lambda r: r["wall_s"])[len(ok) // 2] if ok else rs[-1]
        out[step] = {**pick, "walls": [r["wall_s"] for r in rs], "peak_mb": max(r["peak_mb"] for r in rs)}
    pairs = [e["wall_s"] / s["wall_s"] for s, e in zip(runs["stack_import"], runs["e2e"], strict=True)
             if e["exit"] == 0 and s["exit"] == 0]
    out["e2e"]["ratio_to_import"] = round(sorted(pairs)[len(pairs) // 2], 3) if pairs else None
    out["e2e"]["ratios_to_import"] = [round(r, 3) for r in pairs]
    return out


def _warm_page_cache(inbox: Path) -> None:
    """Read every input once before a step that reads them: each such step starts with the files in the page
    cache (as freshly exported files are), not only the one that happens to run after another."""
    for path in sorted(p for p in inbox.iterdir() if p.is_file()) if inbox.is_dir() else ():
        with path.open("rb") as fh:
            while fh.read(1 << 24):
                pass


def _wait(proc: subprocess.Popen, timeout: float):
    """os.wait4 on the child: its own rusage (peak RSS), not the parent's accumulated RUSAGE_CHILDREN."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, usage
        if time.monotonic() > deadline:
            proc.kill()
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = -9
            return -9, usage
        time.sleep(0.02)


def _prepare_e2e(d: Path) -> None:
    for sub in ("e2e",):
        shutil.rmtree(d / sub, ignore_errors=True)


def machine() -> dict:
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def ver(pkg: str) -> str:
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return "–"

    return {
        "python_calamine": ver("python-calamine"),
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory": mem,
        "cpu": cpu,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "duckdb": ver("duckdb"),
        "pandas": ver("pandas"),
        "openpyxl": ver("openpyxl"),
        "great_expectations": ver("great-expectations"),
        "when": dt.datetime.now().isoformat(timespec="seconds"),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="households, comma-separated")
    ap.add_argument("--workdir", type=Path, default=HERE / "work")
    ap.add_argument("--steps", default=",".join(STEPS), help=f"subset of {','.join(STEPS)}")
    ap.add_argument("--results", type=Path, default=HERE / "RESULTS.md", help="Markdown report to (re)write")
    ap.add_argument("--e2e-max", type=int, default=3000, help="largest size for the end-to-end run")
    ap.add_argument("--timeout", type=float, default=7200, help="seconds per step (300 000 households: generate and "
                    "ingest take 10-40 min each on a shared 2-core machine)")
    ap.add_argument("--repeat", type=int, default=3, help="e2e and stack_import pairs (the median counts)")
    ap.add_argument("--fresh", action="store_true", help="forget results of earlier runs in the workdir")
    ap.add_argument("--note", default="", help="remark stored with this run (e.g. other work on the machine)")
    ap.add_argument("--gx-max-rows", type=int, default=None,
                    help="experiment: files above this many rows are validated in SQL instead of GX")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        from steps import run_step  # noqa: PLC0415 - benchmarks/ is on sys.path when run as a script

        run_step(args.child, args.size, args.workdir.resolve())
        return 0

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = set(steps) - set(STEPS)
    if unknown:
        ap.error(f"unknown steps: {', '.join(sorted(unknown))}")
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    store = workdir / "results.json"
    results = {} if args.fresh or not store.exists() else json.loads(store.read_text())
    results["machine"] = machine()
    results.setdefault("sizes", {})
    if args.note:
        results["note"] = args.note
    if args.gx_max_rows is not None:
        os.environ["BENCH_GX_MAX_ROWS"] = str(args.gx_max_rows)
    failed = False
    for size in sizes:
        key = str(size)
        entry = results["sizes"].setdefault(key, {})
        for step in STEPS:
            if step not in steps or (step == "e2e" and size > args.e2e_max):
                continue
            if step != "generate" and not (size_dir(workdir, size) / "generate.json").exists():
                print(f"n={size}: no generated data, skipping {step}", file=sys.stderr)
                continue
            if step == "e2e":
                for name, res in run_pairs(size, workdir, args.timeout, args.repeat).items():
                    entry[name] = res
                    failed |= res["exit"] != 0
            else:
                print(f"n={size} {step} …", file=sys.stderr, flush=True)
                res = run_child(step, size, workdir, args.timeout)
                res["load_after"] = round(os.getloadavg()[0], 2)
                entry[step] = res
                failed |= res["exit"] != 0
                msg = f"  {res['wall_s']:.2f} s, {res['peak_mb']:.0f} MB" + (" FAILED" if res["exit"] else "")
                print(msg, file=sys.stderr, flush=True)
            store.write_text(json.dumps(results, indent=1, default=str))
    from report import write_markdown  # noqa: PLC0415

    write_markdown(results, args.results)
    print(f"results: {args.results}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
