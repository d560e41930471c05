"""What content is already held, for :mod:`pipeline.pull`: the files the database has recorded (by table,
snapshot date and content hash) and the files waiting in the inbox; and a cache of file hashes.

The cache (``<db>.pull.json`` next to the database: paths, sizes, mtimes and hashes, no contents) saves
re-reading source and inbox files whose size and mtime did not change, and remembers which source files a
pull has finished with (taken, or reported as a duplicate once).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import files, read
from pipeline.config import Config
from pipeline.read import FileProblem


class State:
    """Hashes of files by path, size and mtime; and which source files a pull has finished with."""

    def __init__(self, path: Path, data: dict):
        self.path = path
        self.hashes: dict[str, list] = data.get("hashes", {})  # path -> [size, mtime_ns, sha256]
        self.done: dict[str, list] = data.get("done", {})  # source path -> [size, mtime_ns]

    @classmethod
    def load(cls, cfg: Config) -> State:
        path = state_path(cfg)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        return cls(path, data if isinstance(data, dict) else {})

    def save(self) -> None:
        # forget deleted files; keep those of a folder that is away (an unmounted drive comes back)
        self.hashes = {p: v for p, v in self.hashes.items() if _kept(p)}
        self.done = {p: v for p, v in self.done.items() if _kept(p)}
        files.write_text(self.path, json.dumps({"hashes": self.hashes, "done": self.done}))
        os.chmod(self.path, 0o600)

    def sha(self, path: Path, sig: tuple[int, int]) -> str | None:
        v = self.hashes.get(str(path))
        return v[2] if v and tuple(v[:2]) == sig else None

    def remember(self, path: Path, sig: tuple[int, int], sha: str) -> None:
        self.hashes[str(path)] = [*sig, sha]

    def is_done(self, f) -> bool:
        return tuple(self.done.get(str(f.path), ())) == f.signature

    def mark_done(self, f) -> None:
        self.done[str(f.path)] = list(f.signature)


def _kept(path: str) -> bool:
    return os.path.exists(path) or not os.path.isdir(os.path.dirname(path))


def signature(path: Path) -> tuple[int, int]:
    """(size, mtime in ns) of a file, not following a symlink."""
    st = os.stat(path, follow_symlinks=False)
    return (st.st_size, st.st_mtime_ns)


def state_path(cfg: Config) -> Path:
    return cfg.database.with_name(cfg.database.stem + ".pull.json")


@dataclass
class Known:
    """Content already held: ingested (database) or waiting in the inbox. Key: (table, sha256)."""

    held: dict[tuple[str, str], list[tuple[dt.date, str]]] = field(default_factory=dict)
    ingested: set[tuple[str, dt.date, str]] = field(default_factory=set)

    def add(self, table: str, sha: str, date: dt.date, name: str) -> None:
        self.held.setdefault((table, sha), []).append((date, name))


def _ingested(cfg: Config) -> set[tuple[str, dt.date, str]]:
    """(table, snapshot date, sha256) of every file the database has recorded (loaded or refused)."""
    if not cfg.database.exists():
        return set()
    from pipeline import db

    con = db.connect(cfg.database, read_only=True)  # waits while a reader elsewhere holds the lock a moment
    try:
        rows = con.execute(
            "SELECT table_name, snapshot_date, file_sha256 FROM ingest_files WHERE file_sha256 IS NOT NULL"
        ).fetchall()
    finally:
        con.close()
    return {(t, d, s) for t, d, s in rows}


def _inbox_exports(cfg: Config, state: State) -> tuple[list[tuple[Path, str, dt.date, str]], list[Path]]:
    """Inbox files as (path, table, date, sha256), and those ingest would read but are no export file."""
    from pipeline.inbox import file_sha256, inbox_files

    exports, other = [], []
    for p in inbox_files(cfg.inbox):
        try:
            export = read.recognise(p)
            if p.is_symlink() or not p.is_file():
                raise FileProblem("F01", "")
            sig = signature(p)
        except (FileProblem, OSError):
            other.append(p)
            continue
        sha = state.sha(p, sig)
        if sha is None:
            sha = file_sha256(p)
            state.remember(p, sig, sha)
        exports.append((p, export.table.name, export.snapshot_date, sha))
    return exports, other


def known_content(cfg: Config, state: State) -> Known:
    known = Known(ingested=_ingested(cfg))
    for table, date, sha in known.ingested:
        known.add(table, sha, date, "")
    for p, table, date, sha in _inbox_exports(cfg, state)[0]:
        known.add(table, sha, date, p.name)
    return known


def inbox_pending(cfg: Config, state: State) -> list[str]:
    """Names of inbox files an ingest would still read: not yet recorded by the database (or no export)."""
    ingested = _ingested(cfg)
    exports, other = _inbox_exports(cfg, state)
    return sorted([p.name for p in other] + [p.name for p, t, d, s in exports if (t, d, s) not in ingested])
