"""Refuse request bodies over MAX_BODY_BYTES early, with 413 and a Danish message.

A declared Content-Length over the limit is refused before anything is
read; a body sent without one (chunked) is counted while it is read and
refused as soon as it passes the limit, so no request can fill the front
door's memory.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Far above the largest legitimate body (a 4,000-character caseworker reply).
MAX_BODY_BYTES = 64 * 1024
TOO_LARGE = "Beskeden er for stor. Den må højst fylde 64 KB."


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if declared.isdigit() and (len(declared) > 12 or int(declared) > self.limit):
            await JSONResponse({"detail": TOO_LARGE}, status_code=413)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise HTTPException(status_code=413, detail=TOO_LARGE)
            return message

        await self.app(scope, counted, send)
