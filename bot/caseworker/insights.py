"""The insights page for curators and admins: /caseworker/insights (HTML),
/caseworker/insights.csv (the same figures as a spreadsheet),
/caseworker/api/insights (JSON), and the admins' maintenance switch.

A curator sees only her own municipality: asking for another is refused,
for the page, the CSV and the JSON alike. An admin sees any of the four,
or all of them together. Every view, export and switch is in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from bot.api.state import get_state
from bot.caseworker import charts
from bot.caseworker.deps import CsrfChecked, InsightsLoginDep, NotAllowedError, SessionDep
from bot.caseworker.labels import reason_label, topic_label
from bot.caseworker.pages import page
from bot.handoff import service
from bot.insights import maintenance
from bot.insights.export import as_csv, kind_label, minutes, outcome_label, percent
from bot.insights.report import Period, build_report
from bot.storage.models import Caseworker
from bot.taxonomy import ALL_MUNICIPALITIES, Municipality

router = APIRouter(prefix="/caseworker", include_in_schema=False)
DEFAULT_DAYS = 7
SCOPES = "|".join([ALL_MUNICIPALITIES, *(m.value for m in Municipality)])
BAD_PERIOD = (
    "Perioden kunne ikke bruges (slutdatoen skal ligge efter startdatoen, og højst et år). Her er de sidste 7 dage."
)
Day = Annotated[date | None, Query()]


@dataclass(frozen=True)
class Filters:
    municipality: Municipality | None
    period: Period
    error: str | None = None

    @property
    def query(self) -> str:
        scope = self.municipality.value if self.municipality else ALL_MUNICIPALITIES
        return urlencode({"fra": self.period.first, "til": self.period.last, "kommune": scope})


def _scope(me: Caseworker, kommune: str | None) -> Municipality | None:
    """The municipality to show: a curator's own (another is refused); an admin's choice, None for all."""
    if not me.role.sees_all_municipalities:
        if kommune and kommune != me.municipality.value:
            raise NotAllowedError
        return me.municipality
    if not kommune or kommune == ALL_MUNICIPALITIES:
        return None
    try:
        return Municipality(kommune)
    except ValueError:
        return None


def filters(login: InsightsLoginDep, fra: Day = None, til: Day = None, kommune: str | None = None) -> Filters:
    """The period and municipality the request asks for, as the caseworker may see them."""
    municipality = _scope(login.caseworker, kommune)
    if fra is None and til is None:
        return Filters(municipality, Period.last_days(DEFAULT_DAYS))
    try:
        last = til or date.today()
        return Filters(municipality, Period(fra or last, last))
    except ValueError:
        return Filters(municipality, Period.last_days(DEFAULT_DAYS), BAD_PERIOD)


FiltersDep = Annotated[Filters, Depends(filters)]


def _report(request: Request, session: Session, chosen: Filters) -> dict[str, Any]:
    state = get_state(request)
    return build_report(session, chosen.municipality, chosen.period, state.settings, state.engine.kb)


def _audit(session: Session, me: Caseworker, action: str, chosen: Filters) -> None:
    scope = chosen.municipality.value if chosen.municipality else ALL_MUNICIPALITIES
    service.audit(session, me, action, detail=f"{scope} {chosen.period.first}..{chosen.period.last}")


def _shares(counts: dict[str, int]) -> list[dict[str, Any]]:
    total = sum(counts.values())
    return [{"key": key, "count": n, "percent": round(100 * n / total, 1) if total else 0} for key, n in counts.items()]


def _charts(report: dict[str, Any]) -> dict[str, str]:
    days = [date.fromisoformat(d["date"]).strftime("%d.%m") for d in report["per_day"]]
    kinds = _shares(report["by_kind"])
    reasons = report["handoffs"]["by_reason"]
    return {
        "per_day": charts.per_day(
            days, [d["conversations"] for d in report["per_day"]], [d["turns"] for d in report["per_day"]]
        ),
        "by_kind": charts.shares([kind_label(k["key"]) for k in kinds], [k["percent"] for k in kinds], "Andel", " %"),
        "by_reason": charts.shares([reason_label(r) for r in reasons], list(reasons.values()), "Overdragelser"),
    }


def try_link(question: dict[str, Any], fallback: Municipality | None) -> str | None:
    """The demo page with the question typed into the chat, for the question's municipality and audience."""
    municipality = question["municipality"] or (fallback.value if fallback else None)
    if not municipality:
        return None
    employer = "/virksomhed" if question["audience"] == "virksomhed" else ""
    return f"/demo/{municipality}{employer}?" + urlencode({"spoerg": question["text"]})


@router.get("/insights", response_class=HTMLResponse)
def insights_page(
    request: Request,
    session: SessionDep,
    login: InsightsLoginDep,
    chosen: FiltersDep,
) -> Response:
    me = login.caseworker
    report = _report(request, session, chosen)
    _audit(session, me, "view_insights", chosen)
    return page(
        request,
        "insights.html",
        login,
        report=report,
        chosen=chosen,
        charts=_charts(report),
        kinds=_shares(report["by_kind"]),
        closures=maintenance.closures(session) if me.role.sees_all_municipalities else [],
        municipalities=list(Municipality),
        try_link=try_link,
        kind_label=kind_label,
        outcome_label=outcome_label,
        percent=percent,
        minutes=minutes,
        topic_label=topic_label,
    )


@router.get("/insights.csv")
def insights_csv(
    request: Request,
    session: SessionDep,
    login: InsightsLoginDep,
    chosen: FiltersDep,
) -> Response:
    report = _report(request, session, chosen)
    _audit(session, login.caseworker, "export_insights", chosen)
    name = f"indsigt-{report['municipality'] or ALL_MUNICIPALITIES}-{report['from']}-{report['to']}.csv"
    return Response(
        "\ufeff" + as_csv(report),  # the byte order mark makes spreadsheets read UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/api/insights")
def insights_json(
    request: Request,
    session: SessionDep,
    login: InsightsLoginDep,
    chosen: FiltersDep,
) -> JSONResponse:
    report = _report(request, session, chosen)
    _audit(session, login.caseworker, "export_insights", chosen)
    return JSONResponse(report)


@router.post("/maintenance", dependencies=[CsrfChecked])
def switch_maintenance(
    session: SessionDep,
    login: InsightsLoginDep,
    state: Annotated[str, Form(pattern="^(on|off)$")],
    kommune: Annotated[str, Form(pattern=f"^({SCOPES})$")],
    message: Annotated[str, Form(max_length=maintenance.MAX_MESSAGE_LENGTH)] = "",
) -> Response:
    """Close the chat for a municipality or all of them, or open it again (admins only)."""
    me = login.caseworker
    if not me.role.sees_all_municipalities:
        raise NotAllowedError
    municipality = None if kommune == ALL_MUNICIPALITIES else Municipality(kommune)
    if state == "on":
        maintenance.switch_on(session, municipality, message, by=me)
    else:
        maintenance.switch_off(session, municipality, by=me)
    notice = "chat-lukket" if state == "on" else "chat-aaben"
    return RedirectResponse(f"/caseworker/insights?besked={notice}#vedligeholdelse", status_code=303)
