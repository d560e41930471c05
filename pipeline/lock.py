"""One writer at a time: an exclusive lock file next to the database."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path


class Busy(Exception):
    """Another run holds the database."""


@contextmanager
def exclusive(db_path: Path):
    lock_path = db_path.with_name(db_path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy(
                f"Die Datenbank {db_path.name} wird gerade von einem anderen Lauf benutzt; bitte später erneut "
                "starten. / Another run is using the database; try again when it has finished."
            ) from None
        yield
    finally:
        os.close(fd)
