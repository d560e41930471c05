"""``[ingest] after_job``: a shell command run after each job with the job's summary as JSON on stdin.

The JSON holds what the job history holds (kind, face, times, outcome, message, file names, counts per rule),
never personal data. The command runs in the config file's folder, in its own process group, with a timeout
(``ESF_PIPELINE_HOOK_TIMEOUT`` seconds, default 60); a failure or timeout is reported (log and job message),
never breaks the job.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import tempfile

from pipeline.config import Config

log = logging.getLogger("esf_pipeline.hooks")
TIMEOUT_ENV = "ESF_PIPELINE_HOOK_TIMEOUT"
DEFAULT_TIMEOUT = 60.0
FIELDS = ("id", "kind", "face", "created", "started", "ended", "outcome", "message", "files", "summary")


def payload(job: dict) -> dict:
    """The hook's JSON from a job of the history (``Job.as_dict()``)."""
    from pipeline.jobs import KINDS, OUTCOMES

    doc = {k: job.get(k) for k in FIELDS}
    doc["kind_label"] = KINDS.get(job["kind"], job["kind"])
    doc["outcome_label"] = OUTCOMES.get(job["outcome"], job["outcome"])
    return doc


def _timeout() -> float:
    try:
        return max(0.1, float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT)))
    except ValueError:
        return DEFAULT_TIMEOUT


def run_after_job(cfg: Config, job: dict) -> str | None:
    """Run the hook for a finished job; None when it succeeded, else a German text saying what went wrong."""
    command = cfg.ingest.after_job
    if not command:
        return None
    data = json.dumps(payload(job), ensure_ascii=False, default=str).encode("utf-8")
    timeout = _timeout()
    try:
        # output to a file, not a pipe: a child the command leaves behind cannot block us on an open pipe
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as stdin:
            stdin.write(data)
            stdin.seek(0)
            proc = subprocess.Popen(
                command, shell=True, stdin=stdin, stdout=out, stderr=subprocess.STDOUT,
                cwd=cfg.base_dir, start_new_session=True,
            )  # fmt: skip
            try:
                code = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                problem = f"after_job: nach {timeout:g} s abgebrochen"
            else:
                problem = None if code == 0 else f"after_job: Befehl endete mit Status {code}"
            if problem:
                out.seek(0)
                tail = out.read()[-2000:].decode("utf-8", "replace").strip()
                log.warning("%s%s", problem, f"; Ausgabe:\n{tail}" if tail else "")
            return problem
    except OSError as exc:
        problem = f"after_job: Befehl nicht startbar ({exc.strerror or exc})"
        log.warning("%s", problem)
        return problem


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
