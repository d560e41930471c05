"""The Starlette app: factory, security middleware, error pages, templates.

Security (issue 12): the Host header must name this server (DNS rebinding: 400); unsafe methods pass only
when ``Sec-Fetch-Site`` is ``same-origin``/``none`` or, without it, ``Origin`` matches the Host (403); every
page but the login needs a session (signed cookie, HttpOnly, SameSite=Strict, secret random per start);
strict CSP, no framing, no caching of pages; errors as a German page without a traceback.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from pathlib import Path
from urllib.parse import quote, urlsplit

from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from pipeline import wording
from pipeline.config import Config
from pipeline.web.auth import OneTimeToken

HERE = Path(__file__).parent
HTMX = "vendor/htmx-2.0.11/htmx.min.js"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}
# the Data Docs' vendored styles, scripts and fonts hold no data; their sandboxed pages (opaque origin) send
# no session cookie for them
PUBLIC_PATHS = ("/login", "/static/", "/pruefung/data-docs/static/")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
log = logging.getLogger("esf_pipeline.web")

templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals["HTMX"] = HTMX
templates.env.globals.update(count=wording.count, file_status=wording.FILE_STATUS, vanished_note=wording.vanished_note)


def _split_host(value: str) -> tuple[str, str]:
    """('127.0.0.1', '8000') from a Host header; IPv6 in brackets kept."""
    value = value.strip().lower()
    if value.startswith("["):
        host, _, rest = value.partition("]")
        return host + "]", rest[1:] if rest.startswith(":") else ""
    host, _, port = value.partition(":")
    return host, port


class Guard:
    """Host check, cross-site check, session check and security headers (pure ASGI, no body buffering)."""

    def __init__(self, app, hosts: tuple[str, ...], port: int | None, upload_limit: int):
        self.app = app
        self.hosts = hosts
        self.port = port
        self.upload_limit = upload_limit  # the route's own limit stays as the backstop for chunked bodies

    def _host_ok(self, headers: Headers) -> bool:
        host, port = _split_host(headers.get("host", ""))
        if host not in self.hosts:
            return False
        return self.port is None or port == str(self.port)

    @staticmethod
    def _same_origin(method: str, headers: Headers) -> bool:
        if method in SAFE_METHODS:
            return True
        site = headers.get("sec-fetch-site")
        if site is not None:
            return site in ("same-origin", "none")
        origin = headers.get("origin")
        if origin is None:
            return True  # not a browser (browsers send one of the two headers with every unsafe request)
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and parts.netloc.lower() == headers.get("host", "").lower()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path = scope["path"]

        async def send_secured(message):
            if message["type"] == "http.response.start":
                h = MutableHeaders(scope=message)
                for k, v in SECURITY_HEADERS.items():
                    if k not in h:  # a route may tighten or sandbox its own CSP (the Data Docs)
                        h[k] = v
                if not path.startswith("/static/"):
                    h["cache-control"] = "no-store"
            await send(message)

        if not self._host_ok(headers):
            await _plain(400, "Ungültiger Host-Header.")(scope, receive, send_secured)
            return
        if not self._same_origin(scope["method"], headers):
            await _plain(403, "Abgelehnt: Anfrage von einer fremden Seite.")(scope, receive, send_secured)
            return
        length = headers.get("content-length", "")
        if scope["method"] == "POST" and path == "/lieferung" and length.isdigit() and int(length) > self.upload_limit:
            from starlette.requests import Request

            mb = self.upload_limit // (1 << 20)
            message = f"Die Sendung ist zu groß (höchstens {mb} MB je Lieferung). Nichts wurde gespeichert."
            await error_page(Request(scope, receive), 413, message)(scope, receive, send_secured)
            return
        await self.app(scope, receive, send_secured)


def _plain(status: int, text: str) -> Response:
    return Response(text, status_code=status, media_type="text/plain; charset=utf-8")


class RequireSession:
    """Every page but the login and static files needs a logged-in session."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path.startswith(PUBLIC_PATHS) or scope.get("session", {}).get("user"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        target = "/login"
        if scope["method"] in SAFE_METHODS and path != "/":
            target += "?next=" + quote(path, safe="/")
        response = RedirectResponse(target, status_code=303)
        if headers.get("hx-request"):
            response.headers["HX-Redirect"] = target
        await response(scope, receive, send)


def error_page(request, status: int, message: str) -> Response:
    titles = {400: "Ungültige Anfrage", 403: "Nicht erlaubt", 404: "Nicht gefunden", 405: "Nicht erlaubt",
              413: "Zu groß", 500: "Interner Fehler"}  # fmt: skip
    app_state = getattr(getattr(request, "app", None), "state", None)
    cfg = getattr(app_state, "cfg", None)
    ctx = {"status": status, "title": titles.get(status, "Fehler"), "message": message, "page": "error",
           "project": cfg.project if cfg else None, "demo": False, "logged_in": False}  # fmt: skip
    response = templates.TemplateResponse(request, "error.html", ctx, status_code=status)
    for k, v in SECURITY_HEADERS.items():  # also when the error is rendered outside the Guard (status 500)
        response.headers.setdefault(k, v)
    response.headers["cache-control"] = "no-store"
    return response


async def _http_error(request, exc: HTTPException) -> Response:
    messages = {
        404: "Diese Seite oder Datei gibt es nicht.",
        405: "Diese Aktion ist hier nicht möglich.",
        413: "Die Sendung ist zu groß. Bitte weniger oder kleinere Dateien auf einmal hochladen.",
    }
    detail = exc.detail if isinstance(exc.detail, str) and exc.status_code not in messages else ""
    return error_page(request, exc.status_code, detail or messages.get(exc.status_code, "Die Anfrage ging nicht."))


async def _internal_error(request, exc: Exception) -> Response:
    log.error("internal error on %s: %s", request.url.path, type(exc).__name__)
    if os.environ.get("ESF_PIPELINE_DEBUG"):
        log.exception(exc)
    return error_page(
        request, 500,
        f"Ein interner Fehler ist aufgetreten ({type(exc).__name__}). Die Daten sind unverändert; bitte die Seite "
        "neu laden oder die Aufgabe erneut starten.",
    )  # fmt: skip


def create_app(
    cfg: Config,
    *,
    port: int | None = None,
    bind: str = "127.0.0.1",
    demo: bool = False,
    warm_worker: bool = False,
    password_hash: str = "",
    pull_config=None,
) -> tuple[Starlette, str]:
    """The app for ``cfg`` and this start's one-time login token.

    ``port``: the Host header must carry it (None: any port, for tests). ``demo``: the page says that it
    shows the demo data. ``warm_worker``: build reports in a preloaded worker process (``serve``); without
    it, in a thread of the server (tests). ``password_hash``: allows the password login. ``pull_config``: the
    config file; with ``[ingest]`` sources or a schedule, pulls run in the background (issue 13).
    """
    from pipeline.web import routes
    from pipeline.web.runner import Runner

    token = OneTimeToken()
    hosts = tuple(dict.fromkeys([*LOCAL_HOSTS, *(h.lower() for h in cfg.web.allowed_hosts),
                                 *([bind.lower()] if bind not in ("0.0.0.0", "::") else [])]))  # fmt: skip
    runner = Runner(cfg, warm=warm_worker)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        from pipeline import watch

        runner.start()
        pulls = watch.Scheduler(cfg, face="web", config_path=pull_config) if pull_config else None
        if pulls is not None and watch.configured(cfg):
            pulls.start()
        try:
            yield
        finally:
            if pulls is not None:
                pulls.stop(timeout=5)  # a pull under way finishes in its own process
            runner.stop()

    app = Starlette(
        debug=False,
        routes=[*routes.routes(cfg), Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")],
        middleware=[
            Middleware(Guard, hosts=hosts, port=port, upload_limit=routes.upload_limit(cfg)),
            Middleware(SessionMiddleware, secret_key=secrets.token_urlsafe(32), session_cookie="esf_session",
                       max_age=12 * 3600, same_site="strict"),  # fmt: skip
            Middleware(RequireSession),
        ],
        exception_handlers={HTTPException: _http_error, Exception: _internal_error},
        lifespan=lifespan,
    )
    app.state.cfg = cfg
    app.state.demo = demo
    app.state.token = token
    app.state.password_hash = password_hash
    app.state.runner = runner
    app.state.uploads = {}  # job id -> file names of the upload that started it (per-file progress)
    return app, token.value
