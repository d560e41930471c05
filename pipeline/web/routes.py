"""The route table (stable paths: the browser tests rely on them) and the login."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from pipeline.config import Config
from pipeline.web import common, pages, pages_checks, pages_delivery, pages_privacy, pages_reports
from pipeline.web.auth import verify_password


def _safe_next(target: str | None) -> str:
    """Only a local path (never another site, never '//host')."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _log_in(request: Request, how: str) -> None:
    request.session.clear()
    request.session.update({"user": how, "sid": secrets.token_hex(4)})
    common.log(request, "login", how)


async def login(request: Request):
    state = request.app.state
    token = request.query_params.get("token")
    nxt = _safe_next(request.query_params.get("next"))
    if token is not None:
        if state.token.consume(token):
            _log_in(request, "link")
            return RedirectResponse(nxt, status_code=303)
        common.audit.record(common.cfg_of(request), "web/-", "login_failed", "Anmeldelink ungültig oder verbraucht")
        return common.render(
            request, "login.html", "login", status=403, next=nxt, password_enabled=bool(state.password_hash),
            error="Dieser Anmeldelink ist ungültig oder wurde schon benutzt. Bitte den Server neu starten "
                  "(make serve) und den neuen Link verwenden" + (" oder das Passwort eingeben." if state.password_hash
                                                                  else "."),
        )  # fmt: skip
    if request.session.get("user"):
        return RedirectResponse(nxt, status_code=303)
    return common.render(request, "login.html", "login", next=nxt, password_enabled=bool(state.password_hash))


async def login_post(request: Request):
    state = request.app.state
    form = await request.form(max_files=0, max_fields=5)
    nxt = _safe_next(form.get("next"))
    password = form.get("password") or ""
    if state.password_hash and isinstance(password, str) and verify_password(password, state.password_hash):
        _log_in(request, "password")
        return RedirectResponse(nxt, status_code=303)
    common.audit.record(common.cfg_of(request), "web/-", "login_failed", "Passwort falsch")
    return common.render(
        request, "login.html", "login", status=403, next=nxt, password_enabled=bool(state.password_hash),
        error="Anmeldung fehlgeschlagen." if state.password_hash
        else "Die Anmeldung mit Passwort ist nicht eingerichtet.",
    )  # fmt: skip


async def logout(request: Request):
    if request.session.get("user"):
        common.log(request, "logout")
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


def upload_limit(cfg: Config) -> int:
    """Bytes of one upload request: the files plus the form's own overhead."""
    return cfg.web.max_upload_mb * 1024 * 1024 + 64 * 1024


def routes(cfg: Config) -> list[Route]:
    return [
        Route("/login", login, methods=["GET"]),
        Route("/login", login_post, methods=["POST"], max_body_size=16 * 1024),
        Route("/logout", logout, methods=["POST"]),
        Route("/", pages.overview),
        Route("/uebersicht/diagramm.svg", pages.overview_chart),
        Route("/auftraege", pages.jobs_page),
        Route("/auftraege/laufend", pages.busy_note),
        Route("/auftraege/{job_id}/status", pages.job_status),
        Route("/lieferung", pages_delivery.delivery),
        Route("/lieferung", pages_delivery.upload, methods=["POST"], max_body_size=upload_limit(cfg)),
        Route("/lieferung/eingang", pages_delivery.ingest_inbox, methods=["POST"], max_body_size=16 * 1024),
        Route("/pruefung", pages_checks.checks),
        Route("/pruefung/regel/{rule_id}", pages_checks.rule_page),
        Route("/pruefung/validation_report.xlsx", pages_checks.report_download),
        Route("/pruefung/data-docs/{path:path}", pages_checks.data_docs),
        Route("/pruefung/neu", pages_checks.revalidate, methods=["POST"], max_body_size=16 * 1024),
        Route("/berichte", pages_reports.reports),
        Route("/berichte", pages_reports.build, methods=["POST"], max_body_size=16 * 1024),
        Route("/berichte/{set_id}/zip", pages_reports.download_zip),
        Route("/berichte/{set_id}/datei/{name:path}", pages_reports.download_file),
        Route("/kennzahlen", pages.indicators_page),
        Route("/kennzahlen/diagramm/{indicator_id}.svg", pages.indicator_chart),
        Route("/datenschutz", pages_privacy.privacy),
        Route("/datenschutz/loeschersuchen", pages_privacy.erasure_ask, methods=["POST"], max_body_size=16 * 1024),
        Route("/datenschutz/loeschersuchen/bestaetigen", pages_privacy.erasure_confirm, methods=["POST"],
              max_body_size=16 * 1024),  # fmt: skip
    ]
