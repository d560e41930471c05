"""Keyed hashing of names and BG numbers: they are replaced at ingest and never stored in clear.

The key comes from ``ESF_PIPELINE_KEY`` or a local key file (created on first use, mode 0600,
next to the database, never committed). Without the key the hashes cannot be recomputed from a
guessed name; with it, the same person gets the same hash in every snapshot (duplicate check).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from functools import lru_cache
from pathlib import Path

import duckdb

from pipeline import model

ENV_VAR = "ESF_PIPELINE_KEY"
KEY_FILE_NAME = ".esf-pipeline-key"


def load_key(key_dir: Path) -> bytes:
    """The hash key: environment first, else the key file in key_dir (created 0600 on first use)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return env.encode("utf-8")
    path = key_dir / KEY_FILE_NAME
    if not path.exists():
        key_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip().encode("utf-8")


def keyed_hash(key: bytes, parts: list[str | None]) -> str | None:
    """HMAC-SHA256 over the normalised parts; None when every part is empty."""
    norm = [model.normalise(p) if p else "" for p in parts]
    if not any(norm):
        return None
    return hmac.new(key, "\x1f".join(norm).encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def register(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    """Make ``pseudonym(VARCHAR[])`` available to the ingest SQL."""
    con.execute("SELECT 1").fetchall()  # DuckDB 2 refuses new functions while a result is unfinished
    try:
        con.remove_function("pseudonym")
    except Exception:  # not registered yet
        pass
    # One connection's cache: a name or BG number recurs in every snapshot (and a household's BG number in
    # each row of it), and the UDF runs row by row under the GIL (issue 7). Dropped with the connection.
    cached = lru_cache(maxsize=1 << 20)(lambda parts: keyed_hash(key, list(parts)))
    con.create_function(
        "pseudonym",
        lambda parts: cached(tuple(parts)),
        [duckdb.list_type(duckdb.sqltype("VARCHAR"))],
        duckdb.sqltype("VARCHAR"),
        null_handling="special",
    )
