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
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
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
    from pipeline import api, generate
    from pipeline.config import load_config
    from steps import write_config

    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    cycles = generate.default_cycles(load_config(ROOT / "config.toml"))
    write_config(d, HOUSEHOLDS // len(cycles), len(cycles))  # places = 30 per cycle, as configured
    cfg = load_config(d / "config.toml")
    res = generate.generate(cfg.inbox, households=HOUSEHOLDS, seed=SEED, cycles=cycles, defects=0.02, config=cfg)
    cycle = res.cycles[-1]
    subprocess.run(cli() + ["ingest", "--config", str(d / "config.toml"), "--quiet"], check=True, env=env(),
                   cwd=d, stdout=subprocess.DEVNULL)
    with api.connect(db=cfg.database) as con:
        n = con.execute("SELECT count(*) FROM households WHERE project_cycle = ?", [cycle]).fetchone()[0]
    return d / "config.toml", cycle, n


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

    def __init__(self, server: Server):
        import httpx

        self.server = server
        self.http = httpx.Client(base_url=server.base, follow_redirects=True, timeout=60)
        r = self.http.get(server.link)
        r.raise_for_status()
        if "login" in str(r.url):
            raise RuntimeError(f"login link did not log in: {r.url}")

    def get(self, path: str) -> float:
        t = time.perf_counter()
        r = self.http.get(path)
        elapsed = time.perf_counter() - t
        r.raise_for_status()
        return elapsed

    def start_report(self, cycle: str, audience: str = AUDIENCE) -> str:
        """POST the Berichte form as the page does; returns the job's status URL."""
        form = self.http.get(REPORT_FORM).text
        action = _form_action(form, "report") or REPORT_FORM
        r = self.http.post(action, data={"period": cycle, "audience": audience, "as_of": ""},
                           headers={"Origin": self.server.base, "Sec-Fetch-Site": "same-origin"})
        r.raise_for_status()
        m = re.search(r'hx-get="([^"]*(?:job|auftr)[^"]*)"', r.text)
        if not m:
            raise RuntimeError(f"no job status after starting a report build: {r.url}\n{r.text[:2000]}")
        return m.group(1).replace("&amp;", "&")

    def wait_done(self, status_url: str, poll: float = 0.05, timeout: float = 300) -> str:
        """Poll the status fragment until the job is over (htmx stops polling on 286); its final text."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.http.get(status_url)
            if r.status_code == 286:
                if "fehlgeschlagen" in r.text.lower():
                    raise RuntimeError(f"report job failed: {_text(r.text)[:500]}")
                return r.text
            time.sleep(poll)
        raise TimeoutError("report job did not finish")

    def report_in_page(self, cycle: str) -> float:
        t = time.perf_counter()
        self.wait_done(self.start_report(cycle))
        return time.perf_counter() - t


def _form_action(html: str, hint: str) -> str | None:
    for m in re.finditer(r'<form[^>]*action="([^"]+)"[^>]*method="post"|<form[^>]*method="post"[^>]*action="([^"]+)"',
                         html, re.I):
        action = m.group(1) or m.group(2)
        if hint in action:
            return action.replace("&amp;", "&")
    return None


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


# --- latency ------------------------------------------------------------------------------------------------


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))]


def latency_idle(page: Page, samples: int) -> dict[str, list[float]]:
    out = {name: [] for name in PAGES}
    for name, path in PAGES.items():
        page.get(path)  # first request of a page: templates compiled, not counted
    for _ in range(samples):
        for name, path in PAGES.items():
            out[name].append(page.get(path))
    return out


def latency_busy(page: Page, cycle: str, samples: int) -> tuple[dict[str, list[float]], int]:
    """Page latencies sampled only while a report build runs; builds are started until enough samples exist."""
    out = {name: [] for name in PAGES}
    jobs = 0
    while min(len(v) for v in out.values()) < samples:
        status = page.start_report(cycle, "intern")
        jobs += 1
        done = threading.Event()

        def waiter(url=status):
            try:
                Page.wait_done(page_waiter, url, poll=0.2)
            finally:
                done.set()

        page_waiter = Page.__new__(Page)  # a second client (own connection) polls the status
        page_waiter.server, page_waiter.http = page.server, _clone(page)
        th = threading.Thread(target=waiter, daemon=True)
        th.start()
        while not done.is_set() and min(len(v) for v in out.values()) < samples:
            for name, path in PAGES.items():
                e = page.get(path)
                if not done.is_set():
                    out[name].append(e)
        th.join()
        page_waiter.http.close()
        if jobs > 20:
            break
    return out, jobs


def _clone(page: Page):
    import httpx

    return httpx.Client(base_url=page.server.base, follow_redirects=True, timeout=60, cookies=page.http.cookies)


# --- run and report -----------------------------------------------------------------------------------------


def run(workdir: Path, samples: int, rounds: int) -> dict:
    d = workdir / "web"
    config, cycle, n_households = setup(d)
    log = workdir / "serve.log"
    t = time.perf_counter()
    server = Server(config, log)
    server_start = time.perf_counter() - t
    try:
        page = Page(server)
        idle = latency_idle(page, samples)
        builds = {"page": [], "cli": [], "import": []}
        page.report_in_page(cycle)  # the worker's first build (fonts, templates) is not the steady state
        for _ in range(rounds):
            builds["import"].append(bare_import(d))
            builds["cli"].append(cold_cli(config, cycle))
            builds["page"].append(page.report_in_page(cycle))
        busy, n_jobs = latency_busy(page, cycle, samples)
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
        "latency": lat,
        "busy_jobs": n_jobs,
        "builds_s": {k: [round(x, 3) for x in v] for k, v in builds.items()},
        "median_s": med,
        "ratio_page_vs_import": round(med["page"] / med["import"], 2),
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
        f"Lastmittel am Ende: {' / '.join(map(str, r['load_avg']))}. Ein Projekt aus {HOUSEHOLDS} Haushalten, "
        f"Zyklus {r['cycle']} mit {r['households_in_cycle']} Haushalten; Server bereit nach "
        f"{r['server_start_s']:.1f} s (Login-Link ausgegeben).",
        "",
        "| Seite | Zustand | Abrufe | p50 | p95 |",
        "|---|---|---:|---:|---:|",
    ]
    for name, states in r["latency"].items():
        for state, label in (("idle", "ruhend"), ("busy", f"während eines Berichtsauftrags ({r['busy_jobs']})")):
            s = states[state]
            lines.append(f"| {name} | {label} | {s['n']} | {s['p50_ms']:.1f} ms | {s['p95_ms']:.1f} ms |")
    b, med = r["builds_s"], r["median_s"]
    lines += [
        "",
        f"Berichtssatz Fördergeber, Zyklus {r['cycle']}, abwechselnd in {len(b['page'])} Runden (Median; "
        "alle Werte in `web_results.json`):",
        "",
        "| Weg | Median | Einzelwerte |",
        "|---|---:|---|",
        f"| in der Seite (POST bis Status „fertig“, warmer Worker) | {med['page']:.2f} s | "
        f"{', '.join(f'{x:.2f}' for x in b['page'])} |",
        f"| kalte CLI `esf-pipeline report` | {med['cli']:.2f} s | {', '.join(f'{x:.2f}' for x in b['cli'])} |",
        f"| `python -c \"import weasyprint, matplotlib\"` | {med['import']:.2f} s | "
        f"{', '.join(f'{x:.2f}' for x in b['import'])} |",
        "",
        f"Verhältnisse: Seite ÷ Import = **{r['ratio_page_vs_import']:.2f}** (Ziel ≤ 3: "
        f"{'erfüllt' if r['target_met'] else 'nicht erfüllt'}), kalte CLI ÷ Import = {r['ratio_cli_vs_import']:.2f}, "
        f"Seite ÷ kalte CLI = {r['ratio_page_vs_cli']:.2f}.",
        END,
    ]
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if BEGIN in old and END in old:
        new = old[:old.index(BEGIN)] + section + old[old.index(END) + len(END):].lstrip("\n")
    else:
        new = old.rstrip("\n") + "\n\n" + section
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
