"""Error responses in Danish: 4xx for bad input, 503 when something is down.

No request ever gets a 500 or a stack trace: unexpected errors are logged
(by type and route, never with the request's data) and answered with a 503
and a Danish message. The framework's own English errors (a body that is
not JSON or not UTF-8, JSON nested too deep, an unknown path) are answered
in Danish too.
"""

from __future__ import annotations

from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.api.schemas import SENDER_INVALID
from bot.logs import get_logger, origin

log = get_logger("bot.api")

UNEXPECTED = "Der opstod en fejl hos os. Prøv igen om lidt."
_TYPE_MESSAGES = {
    "json_invalid": "Beskeden kunne ikke læses. Send den som gyldig JSON.",
    "model_attributes_type": "Beskeden skal være et JSON-objekt med felterne sender og message.",
    "dict_type": "Feltet «{field}» skal være et JSON-objekt.",
    "missing": "Feltet «{field}» mangler.",
}
_FIELD_MESSAGES = {
    "sender": SENDER_INVALID,
}
#: Danish words for the framework's English errors, by status code.
_STATUS_MESSAGES = {
    400: "Beskeden kunne ikke læses. Send den som gyldig JSON i UTF-8.",
    404: "Siden findes ikke.",
    405: "Den slags forespørgsel kan ikke bruges her.",
}
_FRAMEWORK_DETAILS = {"There was an error parsing the body"}


def danish_detail(status_code: int, detail: object) -> object:
    """Our own details are Danish already; the framework's are replaced."""
    english = detail in _FRAMEWORK_DETAILS or detail == HTTPStatus(status_code).phrase
    return _STATUS_MESSAGES.get(status_code, "Forespørgslen kunne ikke behandles.") if english else detail


def _route(request: Request) -> str:
    """The route's pattern (/api/chat/{sender}/events), never the path with its ids."""
    route = request.scope.get("route")
    return getattr(route, "path", "unknown")


def danish_validation_message(exc: RequestValidationError) -> str:
    """One clear Danish sentence for the first problem in a request."""
    error = exc.errors()[0]
    location = [str(part) for part in error.get("loc", ()) if part not in ("body", "path", "query", "header")]
    field = ".".join(location) or "body"
    if error.get("type") == "value_error":
        return str(error.get("msg", "")).removeprefix("Value error, ")
    if error.get("type") != "missing" and field in _FIELD_MESSAGES:
        return _FIELD_MESSAGES[field]
    template = _TYPE_MESSAGES.get(error.get("type", ""), "Feltet «{field}» har en ugyldig værdi.")
    return template.format(field=field)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": danish_validation_message(exc)})

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = danish_detail(exc.status_code, exc.detail)
        return JSONResponse(status_code=exc.status_code, content={"detail": detail}, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected_error", route=_route(request), error=type(exc).__name__, origin=origin(exc))
        return JSONResponse(status_code=503, content={"detail": UNEXPECTED})
