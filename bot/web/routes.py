"""Demo pages that embed the chat widget, the widget's static files and its config.

The widget itself is plain JavaScript in static/widget/; a municipal website
embeds it with one script tag (see the demo templates).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel

from bot.api.schemas import MAX_MESSAGE_LENGTH
from bot.api.state import StateDep
from bot.taxonomy import Audience, Municipality
from bot.web.headers import SECURITY_HEADERS

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")

router = APIRouter()


class WidgetConfig(BaseModel):
    retention_days: int


def mount_static(app: FastAPI) -> None:
    """Serve the widget and the demo pages' files at /static."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


def _page(request: Request, template: str, status_code: int = 200, **context: object) -> HTMLResponse:
    response = templates.TemplateResponse(request, template, context, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


def _municipality_page(request: Request, municipality: str, audience: Audience) -> HTMLResponse:
    try:
        found = Municipality(municipality)
    except ValueError:
        return _page(request, "not_found.html", 404, municipalities=list(Municipality))
    template = "demo_virksomhed.html" if audience is Audience.VIRKSOMHED else "demo_borger.html"
    # ?spoerg=...: the insights page's "Prøv i chatten" types the question into the widget (not sent).
    ask = request.query_params.get("spoerg", "")[:MAX_MESSAGE_LENGTH]
    return _page(
        request, template, municipality=found, audience=audience.value, municipalities=list(Municipality), ask=ask
    )


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def index(request: Request) -> HTMLResponse:
    return _page(request, "index.html", municipalities=list(Municipality))


@router.get("/demo/{municipality}", response_class=HTMLResponse, include_in_schema=False)
async def citizen_page(request: Request, municipality: str) -> HTMLResponse:
    return _municipality_page(request, municipality, Audience.BORGER)


@router.get("/demo/{municipality}/virksomhed", response_class=HTMLResponse, include_in_schema=False)
async def employer_page(request: Request, municipality: str) -> HTMLResponse:
    return _municipality_page(request, municipality, Audience.VIRKSOMHED)


@router.get("/api/widget-config", response_model=WidgetConfig, tags=["chat"], summary="Settings the widget shows")
async def widget_config(state: StateDep) -> WidgetConfig:
    """What the widget's privacy notice needs: how many days a closed handoff
    case keeps its personal data."""
    return WidgetConfig(retention_days=state.settings.retention_days)
