"""The one wrapper around Rasa: its REST channel and its HTTP API."""

from __future__ import annotations

from typing import Any

import httpx

from bot.settings import Settings


class RasaUnavailableError(Exception):
    """Rasa did not answer, or answered with an error."""


class RasaClient:
    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        self._token = settings.rasa_token.get_secret_value() if settings.rasa_token else None
        self._http = client or httpx.AsyncClient(base_url=settings.rasa_url, timeout=settings.rasa_timeout)

    async def close(self) -> None:
        await self._http.aclose()

    async def _request(self, method: str, path: str, *, params: dict[str, str] | None = None, json: Any = None) -> Any:
        query = {**(params or {}), **({"token": self._token} if self._token else {})}
        try:
            response = await self._http.request(method, path, params=query, json=json)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise RasaUnavailableError(str(exc) or type(exc).__name__) from exc
        return response.json()

    async def send_message(self, sender: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        """Send a user message through the REST channel; return the bot messages."""
        body = {"sender": sender, "message": text, "metadata": metadata}
        return await self._request("POST", "/webhooks/rest/webhook", json=body)

    async def latest_message(self, sender: str) -> dict[str, Any]:
        """The last user message as Rasa parsed it (intent and confidence)."""
        tracker = await self._request("GET", f"/conversations/{sender}/tracker", params={"include_events": "NONE"})
        return tracker.get("latest_message") or {}

    async def add_event(self, sender: str, event: dict[str, Any]) -> None:
        """Append an event (for example pause or resume) to a conversation."""
        await self._request("POST", f"/conversations/{sender}/tracker/events", json=event)

    async def status(self) -> dict[str, Any]:
        """Rasa's /status: the loaded model file and its fingerprint."""
        return await self._request("GET", "/status")
