"""RESULTS.md from results.json: machine, one table per size, ratios, targets. Hand-written analysis is kept."""

from __future__ import annotations

from pathlib import Path

ANALYSIS_MARK = "<!-- analysis -->"
STEP_LABELS = {
    "generate": "generate (synthetische Exporte)",
    "ingest": "ingest (lesen, abbilden, laden, Validierung)",
    "scan": "scan: DuckDB liest jede Datei einmal (Boden)",
    "indicators": "indicators (ein Zyklus, foerdergeber)",
    "reports": "reports (foerdergeber + intern)",
    "pandas": "pandas-Baseline (K01, K05, K09, EECO01–05)",
    "e2e": "`esf-pipeline run` komplett",
}


def _f(x, digits: int = 2) -> str:
    return "–" if x is None else f"{x:,.{digits}f}".replace(",", " ")


def _inner(res: dict | None, key: str = "seconds"):
    if not res or res.get("exit"):
        return None
    return (res.get("inner") or {}).get(key)


def _parts(res: dict | None) -> dict:
    return ((res or {}).get("inner") or {}).get("parts") or {}


def ratios(entry: dict) -> dict:
    ing, scan, ind, pd_ = (entry.get(s) for s in ("ingest", "scan", "indicators", "pandas"))
    out = {}
    if _inner(ing) and _inner(scan, "duckdb_only"):
        out["ingest_vs_scan"] = _inner(ing) / _inner(scan, "duckdb_only")
        out["ingest_vs_scan_with_prep"] = _inner(ing) / _inner(scan)
        no_val = _parts(ing).get("ingest_without_validation")
        if no_val:
            out["ingest_no_validation_vs_scan"] = no_val / _inner(scan, "duckdb_only")
    if _inner(ind) and _inner(pd_):
        out["pandas_vs_indicators"] = _inner(pd_) / _inner(ind)
        comp = _parts(pd_).get("compute")
        if comp:
            out["pandas_compute_vs_indicators"] = comp / _inner(ind)
    return out


def targets(sizes: dict) -> list[tuple[str, str, str]]:
    """(target, figure, verdict) rows."""
    rows = []
    e2e = (sizes.get("30") or {}).get("e2e")
    if e2e:
        ok = e2e["exit"] == 0 and e2e["wall_s"] < 10
        rows.append(("30 Haushalte, `esf-pipeline run` komplett < 10 s", f"{_f(e2e['wall_s'])} s",
                     "erfüllt" if ok else "nicht erfüllt"))
    big = sizes.get("100000")
    if big and all(big.get(s) for s in ("ingest", "indicators")):
        ing, ind = big["ingest"], big["indicators"]
        wall = ing["wall_s"] + ind["wall_s"]
        peak = max(ing["peak_mb"], ind["peak_mb"])
        ok = ing["exit"] == 0 and ind["exit"] == 0 and wall < 60 and peak < 4096
        rows.append(("100 000 Haushalte: ingest + Validierung + Indikatoren < 60 s, Spitze < 4 GB",
                     f"{_f(wall, 1)} s, {_f(peak, 0)} MB", "erfüllt" if ok else "nicht erfüllt"))
    for key in sorted(sizes, key=int):
        r = ratios(sizes[key])
        if "ingest_vs_scan" in r:
            ok = r["ingest_vs_scan"] <= 3
            rows.append((f"n = {int(key):,}: ingest ≤ 3 × DuckDB-Scan".replace(",", " "),
                         f"{_f(r['ingest_vs_scan'], 1)} × (mit Umkodierung/XLSX im Scan: "
                         f"{_f(r['ingest_vs_scan_with_prep'], 1)} ×)", "erfüllt" if ok else "nicht erfüllt"))
    for key in sorted(sizes, key=int):
        r = ratios(sizes[key])
        if int(key) >= 30000 and "pandas_vs_indicators" in r:
            ok = r["pandas_vs_indicators"] >= 10
            rows.append((f"n = {int(key):,}: Indikatoren ≥ 10 × schneller als pandas".replace(",", " "),
                         f"{_f(r['pandas_vs_indicators'], 1)} × (nur Rechnen ohne Einlesen: "
                         f"{_f(r.get('pandas_compute_vs_indicators'), 1)} ×)", "erfüllt" if ok else "nicht erfüllt"))
    return rows


def render(results: dict) -> str:
    m = results.get("machine", {})
    lines = [
        "# Benchmark: Geschwindigkeit und Skalierung (Issue 7)",
        "",
        "Erzeugt von `benchmarks/run.py` (`make bench`); Rohdaten in `benchmarks/work/results.json`. "
        "Jeder Schritt läuft in einem eigenen Prozess: *Wand* = Wandzeit des Prozesses (mit Python-Start und "
        "Importen), *Arbeit* = vom Schritt selbst gemessene Zeit, *Spitze* = maximaler RSS des Prozesses "
        "(`ru_maxrss` über `os.wait4`).",
        "",
        "## Maschine",
        "",
        f"- CPU: {m.get('cpu', '?')}, {m.get('nproc', '?')} Kerne (nproc); Speicher {m.get('memory', '?')}; "
        f"{m.get('os', '')}",
        f"- Python {m.get('python')}, DuckDB {m.get('duckdb')}, pandas {m.get('pandas')}, openpyxl "
        f"{m.get('openpyxl')}, Great Expectations {m.get('great_expectations')}",
        f"- letzter Lauf: {m.get('when')}",
    ]
    if results.get("note"):
        lines.append(f"- Hinweis: {results['note']}")
    lines += ["", "## Ziele", "", "| Ziel | Messwert | Ergebnis |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in targets(results.get("sizes", {}))]
    for key in sorted(results.get("sizes", {}), key=int):
        entry = results["sizes"][key]
        gen = (entry.get("generate") or {}).get("inner") or {}
        counts = gen.get("row_counts") or {}
        lines += ["", f"## {int(key):,} Haushalte".replace(",", " "), ""]
        if counts:
            desc = ", ".join(f"{t} {n:,}".replace(",", " ") for t, n in counts.items())
            lines.append(f"Letzter Stand: {desc}; {len(gen.get('files', []))} Dateien (zwei Stände), "
                         f"{_f(gen.get('bytes', 0) / 2**20, 1)} MB; Berichtszyklus {gen.get('cycle')}.")
            lines.append("")
        lines += ["| Schritt | Wand s | Arbeit s | Spitze MB | Last (1 min) | Anmerkung |",
                  "|---|---:|---:|---:|---:|---|"]
        for step, label in STEP_LABELS.items():
            res = entry.get(step)
            if not res:
                continue
            note = _note(step, res)
            lines.append(f"| {label} | {_f(res['wall_s'])} | {_f(_inner(res))} | {_f(res['peak_mb'], 0)} | "
                         f"{_f(res.get('load_before'), 1)} | {note} |")
        per_table = ((entry.get("ingest") or {}).get("inner") or {}).get("per_table")
        if per_table:
            lines += ["", "ingest je Tabelle (s, beide Stände; `validate_<tabelle>_<engine>`): "
                      + ", ".join(f"{k} {_f(v)}" for k, v in per_table.items())]
        r = ratios(entry)
        if r:
            lines += ["", "Verhältnisse (Arbeitszeiten):", ""]
            if "ingest_vs_scan" in r:
                lines.append(f"- ingest ÷ DuckDB-Scan: **{_f(r['ingest_vs_scan'], 1)} ×** (Scan inkl. Umkodierung "
                             f"cp1252 und XLSX→CSV: {_f(r['ingest_vs_scan_with_prep'], 1)} ×; ingest ohne Validierung "
                             f"÷ Scan: {_f(r.get('ingest_no_validation_vs_scan'), 1)} ×)")
            if "pandas_vs_indicators" in r:
                lines.append(f"- pandas ÷ Indikatoren: **{_f(r['pandas_vs_indicators'], 1)} ×** (pandas nur Rechnen, "
                             f"ohne Einlesen: {_f(r.get('pandas_compute_vs_indicators'), 1)} ×)")
    return "\n".join(lines) + "\n"


def _note(step: str, res: dict) -> str:
    if res.get("exit"):
        err = (res.get("error") or "").strip().splitlines()
        return "FEHLER: " + (err[-1] if err else f"exit {res['exit']}").replace("|", "/")[:160]
    p = _parts(res)
    inner = res.get("inner") or {}
    if step == "ingest":
        keys = ("hash", "archive", "decode", "load_raw", "load_labelmap", "load_typed", "vanished", "validate_file",
                "validate_cross")
        txt = ", ".join(f"{k} {_f(p[k])}" for k in keys if k in p)
        eng = "/".join(inner.get("validation_engines") or [])
        return f"Validierung {_f(p.get('validation'))} s ({eng}); {txt}; DB {_f(inner.get('db_mb'), 0)} MB"
    if step == "scan":
        return (f"DuckDB {_f(inner.get('duckdb_only'))} s + Vorbereitung {_f(inner.get('preparation'))} s "
                f"({', '.join(f'{k[5:]} {_f(v)}' for k, v in p.items() if k.startswith('prep_'))})")
    if step == "pandas":
        agree = inner.get("agrees_with_pipeline")
        verdict = "–" if agree is None else ("stimmt mit Pipeline überein" if agree.get("equal") else
                                             f"{len(agree.get('differences', []))} Abweichungen")
        return f"einlesen {_f(p.get('read'))} s, rechnen {_f(p.get('compute'))} s; {verdict}"
    if step == "reports":
        return ", ".join(f"{k} {_f(v)}" for k, v in p.items())
    if step == "indicators":
        return f"{inner.get('rows')} Zeilen indicators.csv"
    return ""


def write_markdown(results: dict, path: Path) -> Path:
    path = Path(path)
    analysis = ""
    if path.exists():
        old = path.read_text(encoding="utf-8")
        if ANALYSIS_MARK in old:
            analysis = old[old.index(ANALYSIS_MARK):]
    text = render(results)
    text += "\n" + (analysis or f"{ANALYSIS_MARK}\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
