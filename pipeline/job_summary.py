"""The summary of an ingest for the job history, the page and the ``after_job`` hook (counts and rule ids,
never values)."""

from __future__ import annotations

from pipeline.config import Config
from pipeline.wording import count


def ingest_summary(cfg: Config, ing) -> tuple[str, str, dict]:
    """(outcome, German message, summary) of an ingest for the job history and the ``after_job`` hook:
    ``warning`` when a file failed or rows were quarantined (with a count per rule), else ``ok``."""
    from pipeline import db

    by_rule: dict[str, int] = {}
    if ing.files and cfg.database.exists():
        con = db.connect(cfg.database, read_only=True)
        try:
            by_rule = dict(
                con.execute(
                    """SELECT rule_id, count(*) FROM problems
                       WHERE run_id = ? AND severity IN ('row_error', 'file_error')
                       GROUP BY rule_id ORDER BY rule_id""",
                    [ing.run_id],
                ).fetchall()
            )
        finally:
            con.close()
    files = [
        {
            "file": f.file_name, "table": f.table, "status": f.status, "rows_read": f.rows_read,
            "rows_loaded": f.rows_loaded, "rows_quarantined": f.rows_quarantined, "vanished": f.vanished,
            "rule_id": f.rule_id, "message": f.message,
        }
        for f in ing.files
    ]  # fmt: skip
    quarantined = sum(f.rows_quarantined for f in ing.files if f.status == "loaded")
    loaded = [f for f in ing.files if f.status == "loaded"]
    failed = ing.failed
    parts = [f"{count(len(loaded), 'Datei', 'Dateien')} geladen"]
    if failed:
        parts.append(f"{count(len(failed), 'Datei', 'Dateien')} abgewiesen")
    if quarantined:
        parts.append(f"{count(quarantined, 'Zeile', 'Zeilen')} in Quarantäne")
    if by_rule:
        parts.append("Regeln: " + ", ".join(f"{r} ×{n}" for r, n in by_rule.items()))
    if not ing.files or all(f.status == "skipped" for f in ing.files):
        parts = ["Keine neuen Dateien"]
    summary = {
        "run_id": ing.run_id,
        "files": files,
        "files_loaded": len(loaded),
        "files_failed": len(failed),
        "rows_quarantined": quarantined,
        "problems_by_rule": by_rule,
    }
    outcome = "warning" if failed or quarantined else "ok"
    return outcome, "; ".join(parts) + ".", summary
