"""The inbox's files before the database sees them (ingest, first step): listing, content hash, the archive copy,
and the preparation of one file (recognise, hash, archive, decode, parser pre-check) that :func:`pipeline.ingest.ingest`
runs in a thread while DuckDB loads the file before it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from pipeline import load, read
from pipeline.config import Config
from pipeline.read import FileProblem


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def archive_copy(path: Path, sha: str, archive: Path) -> Path:
    """Unchanged copy named by content hash; archive folder 0700, files 0600."""
    archive.mkdir(parents=True, exist_ok=True)
    os.chmod(archive, 0o700)
    target = archive / f"{sha}{path.suffix.lower()}"
    if not target.exists():
        tmp = target.with_suffix(target.suffix + ".part")
        shutil.copyfile(path, tmp)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    return target


def inbox_files(inbox: Path) -> list[Path]:
    if not inbox.is_dir():
        return []
    # hidden folders (e.g. the generator's .generator/) are not exports; everything else is looked at
    return sorted(p for p in inbox.iterdir() if not (p.name.startswith(".") and p.is_dir() and not p.is_symlink()))


@dataclass
class Prepared:
    """What can be done with one inbox file before the database sees it (runs in the prepare thread)."""

    path: Path
    export: read.ExportFile | None = None
    problem: FileProblem | None = None  # not recognised as an export
    sha: str | None = None
    archived: Path | None = None
    decoded: read.DecodedFile | None = None
    decode_problem: FileProblem | None = None
    parses: bool | None = None  # load.parses_cleanly of the decoded file


def prepare(path: Path, config: Config, workdir: Path, known: set[tuple]) -> Prepared:
    prep = Prepared(path)
    if path.is_symlink() or not path.is_file():
        return prep
    try:
        prep.export = read.recognise(path)
    except FileProblem as p:
        prep.problem = p
        return prep
    prep.sha = file_sha256(path)
    if (prep.sha, prep.export.table.name, prep.export.snapshot_date) in known:
        return prep  # this delivery was read before: nothing more to do (the inbox keeps old exports)
    prep.archived = archive_copy(path, prep.sha, config.archive)
    try:
        prep.decoded = read.decode(prep.export, workdir, config.mapping.get(prep.export.table.name))
    except FileProblem as p:
        prep.decode_problem = p
        return prep
    # the parser pre-check runs in its own in-memory DuckDB, so it can run here, beside the load
    prep.parses = load.parses_cleanly(prep.decoded, len(prep.decoded.headers))
    return prep


def newest_snapshots(files: list[Path]) -> dict[str, dt.date]:
    """Per table, the newest snapshot date among the inbox's file names."""
    newest: dict[str, dt.date] = {}
    for f in files:
        try:
            export = read.recognise(f)
        except FileProblem:
            continue
        newest[export.table.name] = max(export.snapshot_date, newest.get(export.table.name, export.snapshot_date))
    return newest
