"""RESULTS.md from results.json: machine, one table per size, ratios, targets. Hand-written analysis is kept."""

from __future__ import annotations

from pathlib import Path

ANALYSIS_MARK = "<!-- analysis -->"
STEP_LABELS = {
    "generate": "generate (synthetische Exporte)",
    "ingest": "ingest (lesen, abbilden, laden, Validierung)",
    "floor": "Boden: DuckDB read_csv (UTF-8) + calamine XLSX → DuckDB",
    "validate": "`esf-pipeline validate` (Prüfbericht + Data Docs)",
    "indicators": "indicators (ein Zyklus, foerdergeber)",
    "reports": "reports (foerdergeber + intern)",
    "pandas": "pandas-Baseline (K01, K05, K09, EECO01–05)",
    "startup": "Start der Befehle (`python -X importtime`)",
    "stack_import": "bloßer Import des Stacks (GX, WeasyPrint, matplotlib, DuckDB, pandas, openpyxl)",
    "e2e": "`esf-pipeline run` komplett",
}
PIPELINE_STEPS = ("ingest", "validate", "indicators", "reports", "e2e")  # whose peak memory is a target
PEAK_LIMIT_MB = 4096
# targets: ratios of figures of the same run (issue 15)
INGEST_VS_FLOOR = 2.0
VALIDATE_VS_INGEST = 0.3
RUN_VS_IMPORT = 1.5
PANDAS_VS_INDICATORS = 10.0
LINEAR_TOLERANCE = 1.25  # cost per household at the largest size ≤ 1.25 × at the one before
FLAT_MEMORY = 1.5  # peak at the largest size ≤ 1.5 × at the one before


def _f(x, digits: int = 2) -> str:
    return "–" if x is None else f"{x:,.{digits}f}".replace(",", " ")


def _inner(res: dict | None, key: str = "seconds"):
    if not res or res.get("exit"):
        return None
    return (res.get("inner") or {}).get(key)


def _parts(res: dict | None) -> dict:
    return ((res or {}).get("inner") or {}).get("parts") or {}


def _wall(res: dict | None):
    return None if not res or res.get("exit") else res.get("wall_s")


def ratios(entry: dict) -> dict:
    ing, floor, ind, pd_, val = (entry.get(s) for s in ("ingest", "floor", "indicators", "pandas", "validate"))
    out = {}
    if _inner(ing) and _inner(floor):
        out["ingest_vs_floor"] = _inner(ing) / _inner(floor)
        no_val = _parts(ing).get("ingest_without_validation")
        if no_val:
            out["ingest_no_validation_vs_floor"] = no_val / _inner(floor)
    if _wall(val) and _wall(ing):
        out["validate_vs_ingest"] = _wall(val) / _wall(ing)
    if (entry.get("e2e") or {}).get("ratio_to_import"):
        out["run_vs_import"] = entry["e2e"]["ratio_to_import"]
    if _inner(ind) and _inner(pd_):
        out["pandas_vs_indicators"] = _inner(pd_) / _inner(ind)
        comp = _parts(pd_).get("compute")
        if comp:
            out["pandas_compute_vs_indicators"] = comp / _inner(ind)
    peaks = [entry[s]["peak_mb"] for s in PIPELINE_STEPS if entry.get(s)]
    if peaks:
        out["peak_mb"] = max(peaks)
    return out


def _n(key) -> str:
    return f"{int(key):,}".replace(",", " ")


def _ok(ok: bool) -> str:
    return "erfüllt" if ok else "**nicht erfüllt**"


def targets(sizes: dict) -> list[tuple[str, str, str]]:
    """(target, figure, verdict) rows; every target a ratio of figures of the same run."""
    rows = []
    keys = sorted(sizes, key=int)
    r = {k: ratios(sizes[k]) for k in keys}
    for k in keys:
        if int(k) >= 30000 and "ingest_vs_floor" in r[k]:
            v = r[k]["ingest_vs_floor"]
            rows.append((f"n = {_n(k)}: ingest ≤ {INGEST_VS_FLOOR:g} × Boden", f"{_f(v)} ×", _ok(v <= INGEST_VS_FLOOR)))
    for k in keys:
        if int(k) == 30000 and "validate_vs_ingest" in r[k]:
            v = r[k]["validate_vs_ingest"]
            rows.append((f"n = {_n(k)}: `validate` ≤ {VALIDATE_VS_INGEST:g} × ingest", f"{_f(v)} ×",
                         _ok(v <= VALIDATE_VS_INGEST)))
    for k in keys:
        if "run_vs_import" in r[k]:
            v = r[k]["run_vs_import"]
            pairs = ", ".join(_f(x) for x in sizes[k]["e2e"].get("ratios_to_import") or [])
            rows.append((f"n = {_n(k)}: `run` (beide Berichtssätze) ≤ {RUN_VS_IMPORT:g} × Import des Stacks",
                         f"{_f(v)} × (Median; Paare: {pairs})", _ok(v <= RUN_VS_IMPORT)))
    for k in keys:
        if int(k) >= 30000 and "pandas_vs_indicators" in r[k]:
            v = r[k]["pandas_vs_indicators"]
            rows.append((f"n = {_n(k)}: Indikatoren ≥ {PANDAS_VS_INDICATORS:g} × schneller als pandas",
                         f"{_f(v, 1)} × (nur Rechnen ohne Einlesen: "
                         f"{_f(r[k].get('pandas_compute_vs_indicators'), 1)} ×)",
                         _ok(v >= PANDAS_VS_INDICATORS)))
    for k in keys:
        if "peak_mb" in r[k]:
            v = r[k]["peak_mb"]
            rows.append((f"n = {_n(k)}: Spitze < 4 GB", f"{_f(v, 0)} MB", _ok(v < PEAK_LIMIT_MB)))
    big = [k for k in keys if int(k) >= 100000 and _inner(sizes[k].get("ingest"))]
    if len(big) >= 2:
        a, b = big[-2], big[-1]
        per = [_inner(sizes[x]["ingest"]) / int(x) for x in (a, b)]
        v = per[1] / per[0]
        rows.append((f"n = {_n(a)} → {_n(b)}: Kosten linear (ingest je Haushalt ≤ {LINEAR_TOLERANCE:g} ×)",
                     f"{_f(v)} ×", _ok(v <= LINEAR_TOLERANCE)))
        peaks = [r[x].get("peak_mb") for x in (a, b)]
        if all(peaks):
            v = peaks[1] / peaks[0]
            rows.append((f"n = {_n(a)} → {_n(b)}: Speicher flach (Spitze ≤ {FLAT_MEMORY:g} ×)",
                         f"{_f(v)} × ({_f(peaks[0], 0)} → {_f(peaks[1], 0)} MB)", _ok(v <= FLAT_MEMORY)))
    return rows


def render(results: dict) -> str:
    m = results.get("machine", {})
    lines = [
        "# Benchmark: Geschwindigkeit und Skalierung (Issues 7, 15)",
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
        f"{m.get('openpyxl')}, python-calamine {m.get('python_calamine')}, Great Expectations "
        f"{m.get('great_expectations')}",
        f"- letzter Lauf: {m.get('when')}",
    ]
    if results.get("note"):
        lines.append(f"- Hinweis: {results['note']}")
    lines += ["", "## Ziele (Verhältnisse aus demselben Lauf)", "", "| Ziel | Messwert | Ergebnis |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in targets(results.get("sizes", {}))]
    lines += scaling(results.get("sizes", {}))
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
            lines += ["", "Verhältnisse:", ""]
            if "ingest_vs_floor" in r:
                lines.append(f"- ingest ÷ Boden (Arbeitszeiten): **{_f(r['ingest_vs_floor'])} ×** "
                             f"(ingest ohne Validierung ÷ Boden: {_f(r.get('ingest_no_validation_vs_floor'))} ×)")
            if "validate_vs_ingest" in r:
                lines.append(f"- `validate` ÷ ingest (Wandzeiten): **{_f(r['validate_vs_ingest'])} ×**")
            if "run_vs_import" in r:
                lines.append(f"- `run` ÷ Import des Stacks (Wandzeiten, Median der Paare): "
                             f"**{_f(r['run_vs_import'])} ×**")
            if "pandas_vs_indicators" in r:
                lines.append(f"- pandas ÷ Indikatoren: **{_f(r['pandas_vs_indicators'], 1)} ×** (pandas nur Rechnen, "
                             f"ohne Einlesen: {_f(r.get('pandas_compute_vs_indicators'), 1)} ×)")
    return "\n".join(lines) + "\n"


def scaling(sizes: dict) -> list[str]:
    """How ingest grows with the size: time per household and per row, peak memory, against the floor."""
    keys = [k for k in sorted(sizes, key=int) if int(k) >= 3000 and _inner(sizes[k].get("ingest"))]
    if not keys:
        return []
    lines = ["", "## Skalierung (ingest)", "",
             "| Haushalte | Zeilen | ingest Arbeit s | ms je Haushalt | µs je Zeile | Boden s | ingest ÷ Boden | "
             "Spitze MB | Last (1 min) |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for k in keys:
        ing = sizes[k]["ingest"]
        secs, rows = _inner(ing), _inner(ing, "rows_read")
        floor = _inner(sizes[k].get("floor"))
        lines.append(f"| {_n(k)} | {_n(rows) if rows else '–'} | {_f(secs)} | {_f(secs / int(k) * 1000)} | "
                     f"{_f(secs / rows * 1e6 if rows else None)} | {_f(floor)} | "
                     f"{_f(secs / floor if floor else None)} | {_f(ing['peak_mb'], 0)} | "
                     f"{_f(ing.get('load_before'), 1)} |")
    return lines


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
    if step == "floor":
        return (f"DuckDB read_csv {_f(inner.get('duckdb_only'))} s + calamine XLSX {_f(inner.get('xlsx_calamine'))} s"
                f" (nicht gezählt: Kodierung erkennen {_f(p.get('uncounted_detect'))} s, "
                f"Windows-1252 → UTF-8 {_f(p.get('uncounted_transcode'))} s)")
    if step in ("e2e", "stack_import") and res.get("walls"):
        return "Läufe: " + ", ".join(_f(w) for w in res["walls"]) + " s (Median zählt)"
    if step == "pandas":
        agree = inner.get("agrees_with_pipeline")
        verdict = "–" if agree is None else ("stimmt mit Pipeline überein" if agree.get("equal") else
                                             f"{len(agree.get('differences', []))} Abweichungen")
        return f"einlesen {_f(p.get('read'))} s, rechnen {_f(p.get('compute'))} s; {verdict}"
    if step == "reports":
        return ", ".join(f"{k} {_f(v)}" for k, v in p.items())
    if step == "indicators":
        return f"{inner.get('rows')} Zeilen indicators.csv"
    if step == "startup":
        return "; ".join(f"{k}: {_f(v['wall_s'])} s, Importe {_f(v['import_s'])} s, "
                         f"{'/'.join(v['heavy']) or 'ohne GX/WeasyPrint/matplotlib/pandas'}"
                         for k, v in (inner.get("commands") or {}).items())
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
