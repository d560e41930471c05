"""Login: a one-time token printed at start (opened through a 0600 redirect file), or a password stored
as a salted scrypt hash (never in clear)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import tempfile
from pathlib import Path

from pipeline.config import Config

PASSWORD_FILE = ".esf-pipeline-web-password"  # next to config.toml, mode 0600
_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64) of ``password``."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(
            password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


def password_file(cfg: Config) -> Path:
    return cfg.base_dir / PASSWORD_FILE


def stored_hash(cfg: Config) -> str:
    """The configured hash (``[web].password_hash``), else the one ``serve --set-password`` wrote."""
    if cfg.web.password_hash:
        return cfg.web.password_hash
    path = password_file(cfg)
    return path.read_text(encoding="utf-8").strip() if path.is_file() else ""


def write_password(cfg: Config, password: str) -> Path:
    """Store the hash of ``password`` in a 0600 file next to the configuration."""
    path = password_file(cfg)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(hash_password(password) + "\n")
    os.chmod(path, 0o600)
    return path


class OneTimeToken:
    """The login token of this server start: valid once."""

    def __init__(self) -> None:
        self.value = secrets.token_urlsafe(32)
        self.used = False

    def consume(self, given: str) -> bool:
        if self.used or not given or not hmac.compare_digest(given.encode(), self.value.encode()):
            return False
        self.used = True
        return True


def redirect_file(url: str) -> Path:
    """An HTML file (0600) that forwards the browser to ``url``: the token never shows on a command line."""
    fd, name = tempfile.mkstemp(prefix="esf-pipeline-login-", suffix=".html")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(
            '<!doctype html><html lang="de"><head><meta charset="utf-8">'
            f'<meta http-equiv="refresh" content="0;url={url}"><title>Anmeldung</title></head>'
            f'<body><p><a href="{url}">Weiter zur ESF-Pipeline</a></p></body></html>'
        )
    os.chmod(name, 0o600)
    return Path(name)
