"""Dependencies of the caseworker app's routes, the FastAPI way.

- `SessionDep`: a database session, committed when the route function
  returns (before the response is sent, so a failed commit is an error
  response, never a false success), rolled back on an error.
- `LoginDep`: the signed-in account (a valid, unexpired session cookie), or
  LoginRequiredError.
- `CaseLoginDep` / `CaseworkerDep`: an account that handles cases
  (caseworker or admin), else NotAllowedError. Every case a route looks up
  goes through bot.handoff.service.case_for, scoped to the caseworker's own
  municipality and team.
- `InsightsLoginDep`: an account that sees insights (curator or admin).
- `CsrfChecked`: a form that carries the session's CSRF token, or CsrfError.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Form, Request
from sqlalchemy.orm import Session

from bot.caseworker import auth
from bot.storage.db import session_scope
from bot.storage.models import Caseworker, CaseworkerSession


class LoginRequiredError(Exception):
    """No valid session: pages redirect to the login, the API answers 401."""


class CsrfError(Exception):
    """A form without the session's CSRF token."""


class NotAllowedError(Exception):
    """The account's role may not use this page (a curator and cases, a caseworker and insights)."""


def get_session() -> Iterator[Session]:
    with session_scope() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_login(request: Request, session: SessionDep) -> CaseworkerSession:
    login = auth.find_session(session, request.cookies.get(auth.SESSION_COOKIE))
    if login is None:
        raise LoginRequiredError
    return login


LoginDep = Annotated[CaseworkerSession, Depends(get_login, scope="function")]


def get_case_login(login: LoginDep) -> CaseworkerSession:
    if not login.caseworker.role.handles_cases:
        raise NotAllowedError
    return login


CaseLoginDep = Annotated[CaseworkerSession, Depends(get_case_login, scope="function")]


def get_insights_login(login: LoginDep) -> CaseworkerSession:
    if not login.caseworker.role.sees_insights:
        raise NotAllowedError
    return login


InsightsLoginDep = Annotated[CaseworkerSession, Depends(get_insights_login, scope="function")]


def get_caseworker(login: CaseLoginDep) -> Caseworker:
    return login.caseworker


CaseworkerDep = Annotated[Caseworker, Depends(get_caseworker, scope="function")]


def check_csrf(login: LoginDep, csrf_token: Annotated[str, Form()] = "") -> None:
    if not auth.csrf_matches(login.csrf_token, csrf_token):
        raise CsrfError


CsrfChecked = Depends(check_csrf, scope="function")
