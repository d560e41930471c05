"""Start the real ``esf-pipeline serve`` on 127.0.0.1 for browser tests and the web benchmark.

The server runs as a child process in its own process group (its job children and worker die with it) with
the parent-death signal set, so it never outlives the test session even when pytest is killed. Its output goes
to a log file (no pipe to fill up); the one-time login link is read from that file.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"http://(?:127\.0\.0\.1|localhost):(\d+)/login\?token=[\w.~-]+")
_RUNNING: set[subprocess.Popen] = set()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:  # runs in the child between fork and exec
    PR_SET_PDEATHSIG = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the atexit hook and the fixture still stop it
        pass


class Server:
    """A running ``serve``: ``base`` (http://127.0.0.1:port), ``link`` (the one-time login link), ``log``."""

    def __init__(self, config: Path, log: Path, port: int = 0, timeout: float = 90.0):
        self.port = port  # 0: the server picks a free one and prints it in the link
        self.log = log
        exe = Path(sys.executable).parent / "esf-pipeline"
        cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "pipeline"]
        cmd += ["serve", "--no-browser", "--port", str(self.port), "--config", str(config)]
        env = {**os.environ, "GX_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
        env.setdefault("ESF_PIPELINE_KEY", "test-key-not-secret")
        env.pop("ESF_PIPELINE_DEBUG", None)  # the pages are checked for "no traceback"
        with log.open("wb") as fh:
            self.proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=env, cwd=config.parent, start_new_session=True,
                                         preexec_fn=_die_with_parent)
        _RUNNING.add(self.proc)
        try:
            self.link = self._wait_for_link(timeout)
            self.base = f"http://127.0.0.1:{self.port}"
        except BaseException:
            self.stop()
            raise

    def _wait_for_link(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_text(encoding="utf-8", errors="replace")
            m = LINK.search(text)
            if m and (not self.port or int(m.group(1)) == self.port):
                self.port = int(m.group(1))
                if self._listening():
                    return m.group(0)
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited with {self.proc.returncode}:\n{text[-3000:]}")
            time.sleep(0.1)
        raise TimeoutError(f"serve printed no login link within {timeout:.0f} s:\n{self.log.read_text()[-3000:]}")

    def _listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        _stop(self.proc)
        _RUNNING.discard(self.proc)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the whole process group (server, worker, job children), SIGKILL after 10 s."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    try:  # children left in the group (a job process) go as well
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if proc.poll() is None:
        proc.wait(timeout=10)


@atexit.register
def _stop_all() -> None:
    for proc in list(_RUNNING):
        _stop(proc)


def write_config(base: Path) -> Path:
    """The project's config.toml with every path inside ``base`` (relative paths resolve from the file)."""
    path = base / "config.toml"
    path.write_text((ROOT / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
    return path
