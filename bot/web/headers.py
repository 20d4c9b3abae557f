"""Security headers of our HTML pages: one definition for the demo pages and the caseworker app."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Our pages load nothing from other origins and run no inline script or style.
# Keep it that way: the widget must work under a strict policy like this one.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
#: For pages with personal data: no copy in the browser's or a proxy's cache either.
PRIVATE_HEADERS = {**SECURITY_HEADERS, "Cache-Control": "no-store"}


class PrivateHeadersMiddleware:
    """Add PRIVATE_HEADERS to every response under a path prefix: pages, JSON,
    redirects, error pages and static files alike."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(PRIVATE_HEADERS)
            await send(message)

        await self.app(scope, receive, send_with_headers)
