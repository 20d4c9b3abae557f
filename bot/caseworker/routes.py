"""The caseworker app under /caseworker: server-rendered pages, light JavaScript.

Every page and API call needs a session, and every case is looked up through
bot.handoff.service.case_for, which only finds cases of the caseworker's own
municipality and team. Every form carries the session's CSRF token.
"""

from __future__ import annotations

import math
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, FastAPI, Form, Query, Request
from fastapi import Path as FastApiPath
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import AfterValidator
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.api.schemas import MAX_ID
from bot.api.state import get_state
from bot.caseworker import auth, insights, throttle
from bot.caseworker.deps import (
    CaseLoginDep,
    CaseworkerDep,
    CsrfChecked,
    CsrfError,
    LoginDep,
    LoginRequiredError,
    NotAllowedError,
    SessionDep,
)
from bot.caseworker.labels import LABELS, reason_label, throttled_label, topic_label
from bot.caseworker.pages import page
from bot.dialogue import handoff
from bot.handoff import service
from bot.logs import get_logger
from bot.privacy import hash_sender, mask_cpr
from bot.storage.models import CannedReply, CaseMessage, Caseworker, HandoffCase
from bot.taxonomy import Outcome
from bot.web.headers import PrivateHeadersMiddleware

log = get_logger("bot.caseworker")
router = APIRouter(prefix="/caseworker", include_in_schema=False)
MAX_TEXT = 4000


def clean_text(value: str) -> str:
    """What a caseworker typed: trimmed, not empty, CPR numbers masked."""
    text = value.strip()
    if not text:
        raise ValueError("Teksten er tom. Skriv noget, og prøv igen.")
    return mask_cpr(text)[0]


CaseworkerText = Annotated[str, Form(max_length=MAX_TEXT), AfterValidator(clean_text)]
CaseId = Annotated[int, FastApiPath(ge=1, le=MAX_ID)]


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/caseworker",
        httponly=True,
        samesite="strict",
        secure=get_state(request).settings.use_secure_cookies,
    )


# -- login and logout ------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    token = secrets.token_urlsafe(32)
    response = page(request, "login.html", None, login_csrf=token)
    _set_cookie(response, request, auth.LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


def _throttled(request: Request, csrf_token: str, wait: timedelta) -> Response:
    salt = get_state(request).settings.sender_hash_salt.get_secret_value()
    log.warning("login_throttled", client=hash_sender(_client(request), salt), wait_seconds=int(wait.total_seconds()))
    response = page(request, "login.html", None, 429, login_csrf=csrf_token, error=throttled_label(wait))
    response.headers["Retry-After"] = str(math.ceil(wait.total_seconds()))
    return response


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    if not auth.csrf_matches(request.cookies.get(auth.LOGIN_CSRF_COOKIE, ""), csrf_token):
        return page(request, "login.html", None, 400, login_csrf="", error=LABELS["csrf"])
    settings = get_state(request).settings
    try:
        caseworker = auth.authenticate(session, settings, username, password, _client(request))
    except throttle.LoginThrottledError as throttled:
        return _throttled(request, csrf_token, throttled.wait)
    if caseworker is None:
        return page(request, "login.html", None, 401, login_csrf=csrf_token, error=LABELS["bad_login"])
    token = auth.start_session(session, caseworker)
    service.audit(session, caseworker, "login")
    response = RedirectResponse("/caseworker/", status_code=303)
    _set_cookie(response, request, auth.SESSION_COOKIE, token, max_age=auth.SESSION_HOURS * 3600)
    response.delete_cookie(auth.LOGIN_CSRF_COOKIE, path="/caseworker")
    return response


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request, session: SessionDep, login: LoginDep) -> Response:
    service.audit(session, login.caseworker, "logout")
    auth.end_session(session, request.cookies.get(auth.SESSION_COOKIE))
    response = RedirectResponse("/caseworker/login", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/caseworker")
    return response


# -- pages -------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def inboxpage(request: Request, session: SessionDep, login: LoginDep) -> Response:
    """The inbox; a curator, who handles no cases, starts on the insights page."""
    if not login.caseworker.role.handles_cases:
        return RedirectResponse("/caseworker/insights", status_code=303)
    return page(request, "inbox.html", login, cases=service.inbox(session, login.caseworker))


@router.get("/callbacks", response_class=HTMLResponse)
def callbackspage(request: Request, session: SessionDep, login: CaseLoginDep) -> Response:
    cases = service.callbacks(session, login.caseworker)
    service.audit(session, login.caseworker, "view_callbacks")
    return page(request, "callbacks.html", login, cases=cases)


def _canned(session: Session, me: Caseworker) -> list[CannedReply]:
    query = select(CannedReply).where(CannedReply.municipality == me.municipality, CannedReply.team == me.team)
    return list(session.scalars(query.order_by(CannedReply.title)))


def _articles(request: Request, case: HandoffCase) -> list[dict[str, str]]:
    kb = get_state(request).engine.kb
    found = []
    for article_id in case.article_ids:
        try:
            article = kb.article(article_id)
        except KeyError:
            continue
        found.append({"id": article.id, "title": article.title, "topic": topic_label(article.topic.value)})
    return found


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def casepage(request: Request, case_id: CaseId, session: SessionDep, login: CaseLoginDep) -> Response:
    case = service.case_for(session, login.caseworker, case_id)
    service.audit(session, login.caseworker, "view", case.id)
    return page(
        request,
        "case.html",
        login,
        case=case,
        articles=_articles(request, case),
        canned=_canned(session, login.caseworker),
        mine=case.claimed_by_id == login.caseworker_id,
        outcomes=list(Outcome),
    )


# -- actions -----------------------------------------------------------------------


def _back(case_id: int, note: str = "") -> RedirectResponse:
    return RedirectResponse(f"/caseworker/cases/{case_id}{note}", status_code=303)


def _deliver_to_rasa(request: Request, background: BackgroundTasks) -> None:
    """After the commit (background tasks run after the response), deliver
    the tracker event the change queued."""
    background.add_task(get_state(request).sync.nudge)


@router.post("/cases/{case_id}/claim", dependencies=[CsrfChecked])
def claim(
    request: Request, case_id: CaseId, session: SessionDep, me: CaseworkerDep, background: BackgroundTasks
) -> Response:
    try:
        service.claim(session, me, case_id, handoff.claimed(me.display_name, me.first_name))
    except service.AlreadyClaimedError:
        return _back(case_id, "?besked=optaget")
    _deliver_to_rasa(request, background)
    return _back(case_id)


@router.post("/cases/{case_id}/reply", dependencies=[CsrfChecked])
def reply(
    request: Request,
    case_id: CaseId,
    text: CaseworkerText,
    session: SessionDep,
    me: CaseworkerDep,
    background: BackgroundTasks,
) -> Response:
    try:
        service.reply(session, me, case_id, handoff.caseworker_says(text, me.first_name))
    except service.AlreadyClaimedError:
        return _back(case_id, "?besked=ikke-din")
    _deliver_to_rasa(request, background)
    return _back(case_id, "#svar")


@router.post("/cases/{case_id}/note", dependencies=[CsrfChecked])
def note(case_id: CaseId, text: CaseworkerText, session: SessionDep, me: CaseworkerDep) -> Response:
    service.add_note(session, me, case_id, text)
    return _back(case_id, "#noter")


@router.post("/cases/{case_id}/close", dependencies=[CsrfChecked])
def close(
    request: Request,
    case_id: CaseId,
    outcome: CaseworkerText,
    session: SessionDep,
    me: CaseworkerDep,
    background: BackgroundTasks,
    result: Annotated[Outcome | None, Form()] = None,
) -> Response:
    """Close the case. `result` (how it ended) is asked for by the form; a
    close without it is kept all the same, counted as not stated."""
    try:
        service.close(session, me, case_id, outcome, handoff.closed(me.display_name), result)
    except service.AlreadyClaimedError:
        return _back(case_id, "?besked=ikke-din")
    _deliver_to_rasa(request, background)
    return RedirectResponse("/caseworker/?besked=lukket", status_code=303)


# -- JSON for live updates --------------------------------------------------------


def _thread_item(message: CaseMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "author": message.author.value,
        "author_label": LABELS["author"][message.author.value],
        "caseworker": message.caseworker.display_name if message.caseworker else None,
        "text": message.text,
        "at": message.created_at.isoformat(),
    }


@router.get("/api/cases/{case_id}/thread")
def thread(
    case_id: CaseId, session: SessionDep, me: CaseworkerDep, after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0
) -> JSONResponse:
    """New thread entries after an id, and the case status (the case page polls this)."""
    case = service.case_for(session, me, case_id)
    items = [_thread_item(m) for m in case.messages if m.id > after]
    if items:  # the case page polls: only a read of new messages is a read of personal data
        service.audit(session, me, "read_thread", case.id)
    return JSONResponse({"status": case.status.value, "messages": items})


def _inbox_item(case: HandoffCase) -> dict[str, Any]:
    return {
        "id": case.id,
        "status": case.status.value,
        "priority": case.priority,
        "reason": reason_label(case.reason),
        "channel": case.channel.value,
    }


@router.get("/api/inbox")
def inbox_json(session: SessionDep, me: CaseworkerDep) -> JSONResponse:
    """The inbox as JSON (the inbox page polls this to show new cases)."""
    return JSONResponse({"cases": [_inbox_item(case) for case in service.inbox(session, me)]})


def install(app: FastAPI) -> None:
    """Add the app's routes, static files, error pages and security headers to the front door."""
    from fastapi.staticfiles import StaticFiles

    app.include_router(router)
    app.include_router(insights.router)
    app.add_middleware(PrivateHeadersMiddleware, prefix="/caseworker")
    app.mount("/caseworker/static", StaticFiles(directory=Path(__file__).parent / "static"), name="caseworker-static")

    @app.exception_handler(LoginRequiredError)
    async def _login_required(request: Request, _: LoginRequiredError) -> Response:
        if request.url.path.startswith("/caseworker/api/"):
            return JSONResponse({"detail": LABELS["login_required"]}, status_code=401)
        return RedirectResponse("/caseworker/login", status_code=303)

    @app.exception_handler(CsrfError)
    async def _csrf(request: Request, _: CsrfError) -> Response:
        return page(request, "error.html", None, 403, message=LABELS["csrf"])

    @app.exception_handler(NotAllowedError)
    async def _not_allowed(request: Request, _: NotAllowedError) -> Response:
        if request.url.path.startswith("/caseworker/api/"):
            return JSONResponse({"detail": LABELS["not_allowed"]}, status_code=403)
        return page(request, "error.html", None, 403, message=LABELS["not_allowed"])

    @app.exception_handler(service.CaseNotFoundError)
    async def _not_found(request: Request, _: service.CaseNotFoundError) -> Response:
        if request.url.path.startswith("/caseworker/api/"):
            return JSONResponse({"detail": LABELS["not_found"]}, status_code=404)
        return page(request, "error.html", None, 404, message=LABELS["not_found"])
