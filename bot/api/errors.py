"""Error responses in Danish: 422 for bad input, 503 when something is down.

No request ever gets a 500 or a stack trace: unexpected errors are logged
and answered with a 503 and a Danish message.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.api.schemas import SENDER_INVALID
from bot.logs import get_logger

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
        return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail}, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected_error", path=request.url.path, error=type(exc).__name__, exc_info=exc)
        return JSONResponse(status_code=503, content={"detail": UNEXPECTED})
