"""The caseworker app's page rendering: Jinja templates with the Danish labels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from bot.caseworker.labels import LABELS, reason_label, topic_label
from bot.storage.models import CaseworkerSession

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.globals.update(labels=LABELS, reason_label=reason_label, topic_label=topic_label)


def page(request: Request, name: str, login: CaseworkerSession | None, status: int = 200, **context: Any) -> Response:
    """A page; `me` and `csrf` come from the login (None on the login and error pages)."""
    context |= {"me": login.caseworker if login else None, "csrf": login.csrf_token if login else None}
    return templates.TemplateResponse(request, name, context, status_code=status)
