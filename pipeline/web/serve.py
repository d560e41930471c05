"""``esf-pipeline serve``: pick the configuration (the demo's when there is no database yet), bind, print
the one-time login link, open the browser through a 0600 redirect file, run uvicorn."""

from __future__ import annotations

import ipaddress
import socket
import sys
import webbrowser

from pipeline.config import Config, ConfigError

DEFAULT_PORT = 8765


def choose_config(cfg: Config) -> tuple[Config, bool]:
    """(config, demo?): without its own database but after ``make demo``, the page shows the demo data."""
    from pipeline import runs

    if cfg.database.exists():
        return cfg, False
    demo = runs.demo_config(cfg)
    if demo.database.exists():
        return demo, True
    return cfg, False


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"--port {port}: Adresse {host}:{port} ist nicht frei ({exc.strerror}). "
                          "Läuft die Seite schon? Sonst einen anderen Port wählen.") from None  # fmt: skip
    sock.listen(64)
    sock.set_inheritable(True)
    return sock


def serve(cfg: Config, host: str = "127.0.0.1", port: int = DEFAULT_PORT, open_browser: bool = True,
          say=print) -> None:  # fmt: skip
    """Run the page until Ctrl+C."""
    import uvicorn

    from pipeline.web import create_app
    from pipeline.web.auth import redirect_file, stored_hash

    password = stored_hash(cfg)
    if not is_loopback(host) and not password:
        raise ConfigError(
            f"--host {host}: nur mit Passwort erlaubt. Erst 'esf-pipeline serve --set-password' ausführen "
            "(die Seite zeigt Daten über Haushalte im Leistungsbezug)."
        )
    own_db = cfg.database
    cfg, demo = choose_config(cfg)
    sock = bind(host, port)
    port = sock.getsockname()[1]
    app, token = create_app(cfg, port=port, bind=host, demo=demo, warm_worker=True, password_hash=password)
    shown = f"[{host.strip('[]')}]" if ":" in host else host
    base = f"http://{'127.0.0.1' if shown in ('0.0.0.0', '[::]') else shown}:{port}"
    login = f"{base}/login?token={token}"
    if demo:
        say(f"Keine Datenbank unter {own_db}: die Seite zeigt die Demo-Daten ({cfg.database}).")
    say(f"ESF-Pipeline: {base}/  (Beenden mit Strg+C)")
    say(f"Anmeldelink (gilt einmal): {login}")
    sys.stdout.flush()
    if open_browser:
        try:
            webbrowser.open(redirect_file(login).as_uri())
        except Exception:  # noqa: BLE001 - no browser on this machine: the printed link is enough
            pass
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=3)
    uvicorn.Server(config).run(sockets=[sock])
