"""The one wrapper around Rasa: our front-door channel and its HTTP API."""

from __future__ import annotations

from typing import Any

import httpx

from bot.settings import Settings

#: The channel in bot/rasa_channel.py, and the header that carries the token.
WEBHOOK = "/webhooks/frontdoor/webhook"
TOKEN_HEADER = "X-Frontdoor-Token"
#: Seconds for calls no person waits on with a turn (status, tracker events).
QUICK_TIMEOUT = 2.0


class RasaUnavailableError(Exception):
    """Rasa did not answer, or answered with an error."""


class RasaClient:
    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        self._token = settings.rasa_token.get_secret_value() if settings.rasa_token else ""
        self._turn_timeout = settings.rasa_timeout
        self._http = client or httpx.AsyncClient(base_url=settings.rasa_url, timeout=settings.rasa_timeout)

    async def close(self) -> None:
        await self._http.aclose()

    async def _request(self, method: str, path: str, timeout: float, **kwargs: Any) -> Any:
        try:
            response = await self._http.request(method, path, timeout=timeout, **kwargs)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise RasaUnavailableError(type(exc).__name__) from exc

    async def _api(self, method: str, path: str, *, timeout: float = QUICK_TIMEOUT, **kwargs: Any) -> Any:
        """A call to Rasa's HTTP API, which takes the token as a query parameter."""
        params = {**kwargs.pop("params", {}), "token": self._token}
        return await self._request(method, path, timeout, params=params, **kwargs)

    async def send_message(self, sender: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        """Send a user message through the front-door channel; return the bot messages."""
        body = {"sender": sender, "message": text, "metadata": metadata}
        headers = {TOKEN_HEADER: self._token}
        messages: list[dict[str, Any]] = await self._request(
            "POST", WEBHOOK, self._turn_timeout, json=body, headers=headers
        )
        return messages

    async def add_event(self, sender: str, event: dict[str, Any]) -> None:
        """Append an event (for example pause or resume) to a conversation."""
        await self._api("POST", f"/conversations/{sender}/tracker/events", json=event)

    async def status(self) -> dict[str, Any]:
        """Rasa's /status: the loaded model file and its fingerprint."""
        status: dict[str, Any] = await self._api("GET", "/status")
        return status
