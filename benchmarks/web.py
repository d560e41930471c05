#!/usr/bin/env python
"""Benchmark of the web page (issue 12): ``python benchmarks/web.py``; not a timed test.

In one run, on one generated project (60 households over two cycles: 30 in the reported cycle):

* page latency (p50/p95) of the Übersicht and the Prüfergebnis, idle and while a job runs (a report build of
  the page's worker), measured over HTTP from a logged-in client against the real ``esf-pipeline serve``;
* a report set (Fördergeber) for that cycle built three ways, interleaved round by round so each sees the
  same machine load: in the running server (from the form's POST until the status says it is done), by the
  cold CLI (``esf-pipeline report``), and a bare ``python -c "import weasyprint, matplotlib"``;
* the target: the report set in the page within 3× the bare import.

Figures go to ``<workdir>/web_results.json`` and into a section of ``benchmarks/RESULTS.md`` between the
markers below (the rest of the file is left alone).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for p in (ROOT, ROOT / "tests", HERE):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from run import machine  # noqa: E402
from web_server import Server  # noqa: E402

BEGIN, END = "<!-- web:begin -->", "<!-- web:end -->"
SEED = 7
HOUSEHOLDS = 60  # over two cycles: the reported cycle has 30
AUDIENCE = "foerdergeber"
# the app's routes (pipeline/web/app.py)
PAGES = {"Übersicht": "/", "Prüfergebnis": "/pruefung"}
REPORT_FORM = "/berichte"
REVALIDATE = "/pruefung/neu"


def cli() -> list[str]:
    exe = Path(sys.executable).parent / "esf-pipeline"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "pipeline"]


def env() -> dict:
    e = {**os.environ, "GX_ANALYTICS_ENABLED": "False"}
    e.setdefault("ESF_PIPELINE_KEY", "benchmark-key-not-secret")
    return e


# --- setup ------------------------------------------------------------------------------------------------


def setup(d: Path) -> tuple[Path, str, int]:
    """A generated, ingested project in ``d``: (config, reported cycle, its households)."""
    from steps import write_config

    from pipeline import api, generate
    from pipeline.config import load_config

    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    cycles = generate.default_cycles(load_config(ROOT / "config.toml"))
    write_config(d, HOUSEHOLDS // len(cycles), len(cycles))  # places = 30 per cycle, as configured
    cfg = load_config(d / "config.toml")
    res = generate.generate(cfg.inbox, households=HOUSEHOLDS, seed=SEED, cycles=cycles, defects=0.02, config=cfg)
    cycle = res.cycles[-1]
    subprocess.run(cli() + ["ingest", "--config", str(d / "config.toml"), "--quiet"], check=True, env=env(),
                   cwd=d, stdout=subprocess.DEVNULL)
    k = api.indicators(cycle, db=cfg.database, config=cfg)
    n = k[(k.indicator_id == "K01") & (k.dimension == "total")]["value"].iloc[0]  # households supported
    return d / "config.toml", cycle, int(n)


# --- the three ways to a report set -----------------------------------------------------------------------


def time_cmd(cmd: list[str], cwd: Path) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, env=env(), cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - t


def bare_import(cwd: Path) -> float:
    return time_cmd([sys.executable, "-c", "import weasyprint, matplotlib"], cwd)


def cold_cli(config: Path, cycle: str) -> float:
    return time_cmd(cli() + ["report", "--period", cycle, "--audience", AUDIENCE, "--config", str(config),
                             "--quiet"], config.parent)


class Page:
    """A logged-in HTTP client of the running server (what the browser does, without rendering)."""

    def __init__(self, server: Server, config: Path):
        import httpx

        from pipeline.config import load_config

        self.server = server
        self.cfg = load_config(config)
        self.http = httpx.Client(base_url=server.base, follow_redirects=True, timeout=120,
                                 headers={"Origin": server.base})  # the cross-site check of unsafe methods
        r = self.http.get(server.link)
        r.raise_for_status()
        if r.url.path != "/":
            raise RuntimeError(f"the login link did not log in: {r.url}")

    def get(self, path: str) -> float:
        t = time.perf_counter()
        r = self.http.get(path)
        elapsed = time.perf_counter() - t
        r.raise_for_status()
        return elapsed

    def start(self, path: str, data: dict) -> str:
        """POST a form as the page does; the job id from the redirect (``?auftrag=ID``)."""
        deadline = time.monotonic() + 120
        while True:
            r = self.http.post(path, data=data)
            if r.status_code != 409 or time.monotonic() > deadline:  # 409: the previous job is still finishing
                break
            time.sleep(0.2)
        r.raise_for_status()
        job = r.url.params.get("auftrag")
        if not job:
            raise RuntimeError(f"no job started by POST {path}: {_text(r.text)[:500]}")
        return job

    def wait_done(self, job: str, timeout: float = 600) -> None:
        """Ask for the job's status as the page does (``?warten=1``: held until the job ends or a second has
        passed, then asked again at once) until it answers 286 (done)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.http.get(f"/auftraege/{job}/status", params={"warten": "1"})
            if r.status_code == 286:
                if 'data-outcome="failed"' in r.text:
                    raise RuntimeError(f"job {job} failed: {_text(r.text)[:500]}")
                return
            r.raise_for_status()
        raise TimeoutError(f"job {job} did not finish within {timeout:.0f} s")

    def report_in_page(self, cycle: str) -> tuple[float, float]:
        """(seconds from the form's POST until the status says done, the job's own start-to-end seconds)."""
        from pipeline import jobs

        t = time.perf_counter()
        job = self.start(REPORT_FORM, {"zyklus": cycle, "zielgruppe": AUDIENCE, "von": "", "bis": "", "stand": ""})
        self.wait_done(job)
        wall = time.perf_counter() - t
        j = jobs.get(self.cfg, job)
        return wall, (j.ended - j.started).total_seconds() if j and j.ended and j.started else float("nan")

    def busy(self) -> bool:
        from pipeline import jobs

        return jobs.running(self.cfg) is not None


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


# --- latency ------------------------------------------------------------------------------------------------


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))]


def latency_idle(page: Page, samples: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {name: [] for name in PAGES}
    for path in PAGES.values():
        page.get(path)  # the first request of a page (templates compiled) is not counted
    for _ in range(samples):
        for name, path in PAGES.items():
            out[name].append(page.get(path))
    return out


def latency_busy(page: Page, samples: int) -> tuple[dict[str, list[float]], int]:
    """Page latencies while a job runs: „Prüfung erneut ausführen“ (an ingest, then the validation outputs with
    the Data Docs, each a child process of the server), restarted until every page has ``samples`` requests.
    A request counts only when a job was running before and after it."""
    out: dict[str, list[float]] = {name: [] for name in PAGES}
    jobs = 0
    while min(map(len, out.values())) < samples and jobs < 20:
        page.start(REVALIDATE, {})
        jobs += 1
        while not page.busy():  # the job is started from a thread of the server
            time.sleep(0.02)
        while page.busy() and min(map(len, out.values())) < samples:
            for name, path in PAGES.items():
                e = page.get(path)
                if page.busy():
                    out[name].append(e)
        while page.busy():
            time.sleep(0.1)
    return out, jobs


# --- run and report -----------------------------------------------------------------------------------------


def run(workdir: Path, samples: int, rounds: int) -> dict:
    d = workdir / "web"
    config, cycle, n_households = setup(d)
    log = workdir / "serve.log"
    t = time.perf_counter()
    server = Server(config, log)
    server_start = time.perf_counter() - t
    try:
        page = Page(server, config)
        idle = latency_idle(page, samples)
        builds: dict[str, list[float]] = {"page": [], "page_job": [], "cli": [], "import": []}
        first = page.report_in_page(cycle)[0]  # the worker's first build (fonts, templates): reported apart
        for _ in range(rounds):  # interleaved: each way sees the same machine load
            builds["import"].append(bare_import(d))
            builds["cli"].append(cold_cli(config, cycle))
            wall, job = page.report_in_page(cycle)
            builds["page"].append(wall)
            builds["page_job"].append(job)
        busy, n_jobs = latency_busy(page, samples)
    finally:
        server.stop()
    lat = {}
    for state, data in (("idle", idle), ("busy", busy)):
        for name, xs in data.items():
            lat.setdefault(name, {})[state] = {"n": len(xs), "p50_ms": round(pct(xs, 0.5) * 1000, 1),
                                               "p95_ms": round(pct(xs, 0.95) * 1000, 1)}
    med = {k: round(statistics.median(v), 3) for k, v in builds.items()}
    return {
        "machine": machine(),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "cycle": cycle,
        "households_in_cycle": n_households,
        "server_start_s": round(server_start, 2),
        "first_build_in_page_s": round(first, 3),
        "latency": lat,
        "busy_jobs": n_jobs,
        "builds_s": {k: [round(x, 3) for x in v] for k, v in builds.items()},
        "median_s": med,
        "ratio_page_vs_import": round(med["page"] / med["import"], 2),
        "ratio_page_vs_import_rounds": [round(p / i, 2) for p, i in zip(builds["page"], builds["import"], strict=True)],
        "ratio_cli_vs_import": round(med["cli"] / med["import"], 2),
        "ratio_page_vs_cli": round(med["page"] / med["cli"], 2),
        "target_met": med["page"] <= 3 * med["import"],
    }


def markdown(r: dict, note: str) -> str:
    m = r["machine"]
    lines = [
        BEGIN,
        "## Webseite (Issue 12): Seitenlatenz und Berichtsbau",
        "",
        f"Gemessen {m['when']} mit `python benchmarks/web.py` auf {m['nproc']} Kernen ({m['cpu']}, {m['memory']}, "
        f"{m['os']}, Python {m['python']}). {note}".rstrip(),
        f"Lastmittel am Ende: {' / '.join(map(str, r['load_avg']))}. Ein Projekt aus {HOUSEHOLDS} Haushalten "
        f"(je Zyklus 30 erzeugt), Zyklus {r['cycle']}: K01 = {r['households_in_cycle']} unterstützte "
        f"Bedarfsgemeinschaften nach Quarantäne; Server bereit nach {r['server_start_s']:.1f} s "
        "(Login-Link ausgegeben).",
        "",
        "| Seite | Zustand | Abrufe | p50 | p95 |",
        "|---|---|---:|---:|---:|",
    ]
    for name, states in r["latency"].items():
        for state, label in (("idle", "ruhend"), ("busy", f"während „Prüfung erneut ausführen“ ({r['busy_jobs']}×)")):
            s = states[state]
            lines.append(f"| {name} | {label} | {s['n']} | {s['p50_ms']:.1f} ms | {s['p95_ms']:.1f} ms |")
    b, med = r["builds_s"], r["median_s"]

    def vals(key: str) -> str:
        return ", ".join(f"{x:.2f}" for x in b[key])

    lines += [
        "",
        f"Berichtssatz Fördergeber für Zyklus {r['cycle']}, die drei Wege abwechselnd in {len(b['page'])} Runden "
        "(Median; alle Werte in `web_results.json`):",
        "",
        "| Weg | Median | Einzelwerte |",
        "|---|---:|---|",
        f"| in der Seite: POST des Formulars bis Status „fertig“ (warmer Worker; Status abgefragt wie die Seite: "
        f"`?warten=1`) | {med['page']:.2f} s | "
        f"{vals('page')} |",
        f"| … davon der Auftrag selbst (Beginn bis Ende im Auftragsprotokoll) | {med['page_job']:.2f} s | "
        f"{vals('page_job')} |",
        f"| kalte CLI `esf-pipeline report` | {med['cli']:.2f} s | {vals('cli')} |",
        f"| `python -c \"import weasyprint, matplotlib\"` | {med['import']:.2f} s | {vals('import')} |",
        "",
        f"Der erste Bau im frisch gestarteten Server (Schriften, Vorlagen) dauerte {r['first_build_in_page_s']:.2f} s "
        "und ist oben nicht mitgezählt.",
        "",
        f"Verhältnisse: Seite ÷ Import = **{r['ratio_page_vs_import']:.2f}** (Ziel ≤ 3: "
        f"{'erfüllt' if r['target_met'] else 'nicht erfüllt'}), kalte CLI ÷ Import = {r['ratio_cli_vs_import']:.2f}, "
        f"Seite ÷ kalte CLI = {r['ratio_page_vs_cli']:.2f}. Seite ÷ Import je Runde (gleiche Last): "
        f"{', '.join(f'{x:.2f}' for x in r['ratio_page_vs_import_rounds'])}.",
        END,
    ]
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if BEGIN in old and END in old:
        new = old[:old.index(BEGIN)] + section + old[old.index(END) + len(END):].lstrip("\n")
    elif old.strip():
        new = old.rstrip("\n") + "\n\n" + section
    else:
        new = section
    path.write_text(new, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, default=HERE / "work")
    ap.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    ap.add_argument("--samples", type=int, default=60, help="requests per page and state")
    ap.add_argument("--rounds", type=int, default=3, help="report builds per way")
    ap.add_argument("--note", default="Die Maschine war während der Messung mit anderen Sitzungen geteilt.")
    args = ap.parse_args(argv)
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    r = run(workdir, args.samples, args.rounds)
    r["note"] = args.note
    (workdir / "web_results.json").write_text(json.dumps(r, indent=1, default=str))
    write_section(args.results, markdown(r, args.note))
    print(json.dumps({k: r[k] for k in ("latency", "median_s", "ratio_page_vs_import", "target_met")}, indent=1))
    print(f"results: {args.results}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
