"""The one wrapper around Rasa: our front-door channel and its HTTP API.

With several Rasa instances (RASA_INSTANCES) every call goes to the live
instance with the fewest outstanding requests from this worker, round robin
among ties. An instance whose port refuses the connection is marked down and
the call goes at once to the next one: nothing reached Rasa, so nothing can
run twice. A call that timed out or broke off after it was sent is not
retried (Rasa may have run the turn). The monitor (bot/api/monitor.py)
probes every instance and takes a down one back when it answers again.

Each worker sends one instance at most RASA_TURNS_IN_FLIGHT turns at a
time; later turns wait in the front door, first come first served. A Rasa
instance is one event loop: fifty turns sent at once take turns on its
CPU, so each takes fifty times as long, and a turn on a new connection
waits seconds before Rasa even reads it (measured: seven seconds for a
conversation's first turn at 50 conversations, against 1.3 s for the
rest). The turn's RASA_TIMEOUT counts its wait here too: a turn waits
while at least QUICK_TIMEOUT is left for Rasa, and one that got no place
by then is answered 503 and never reached Rasa.

The calls go through aiohttp: a turn through the front door waits for this
call, and aiohttp's client costs about a fifth of the CPU httpx's does per
call on this path (and adds no delay of its own), which is most of what the
front door adds to a turn (bench/load.py, part `gateway`).
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from typing import Any

import aiohttp
import anyio

from bot.settings import Settings

#: The channel in bot/rasa_channel.py, and the header that carries the token.
WEBHOOK = "/webhooks/frontdoor/webhook"
TOKEN_HEADER = "X-Frontdoor-Token"
#: Seconds for calls no person waits on with a turn (status, tracker events).
QUICK_TIMEOUT = 2.0
#: Errors that mean nothing reached Rasa: the call may go to another instance.
#: (A connection that takes longer than QUICK_TIMEOUT counts as refused.)
NOT_SENT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)


class RasaUnavailableError(Exception):
    """Rasa did not answer, or answered with an error. `refused`: the
    instance's port refused the connection, so nothing reached it."""

    def __init__(self, kind: str, *, refused: bool = False) -> None:
        super().__init__(kind)
        self.refused = refused


@dataclass
class Instance:
    """One Rasa server, as this front-door worker sees it."""

    url: str
    up: bool = True
    outstanding: int = 0
    #: Responses it sent (to turns, events, probes): a busy instance that
    #: is slow to answer a probe still sends them.
    responses: int = 0


def _kind(exc: BaseException) -> str:
    """The error's name for the log: a status, Timeout, Refused or the type."""
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"HTTP {exc.status}"
    if isinstance(exc, NOT_SENT):
        return "Refused"
    if isinstance(exc, asyncio.TimeoutError):
        return "Timeout"
    return type(exc).__name__


class RasaClient:
    def __init__(self, settings: Settings) -> None:
        self._token = settings.rasa_token.get_secret_value() if settings.rasa_token else ""
        self._turn_timeout = settings.rasa_timeout
        self._session: aiohttp.ClientSession | None = None
        self.instances = [Instance(url) for url in settings.rasa_urls]
        self._turns = itertools.count()
        self._per_instance = settings.rasa_turns_in_flight
        self._places: anyio.CapacityLimiter | None = None

    def _http(self) -> aiohttp.ClientSession:
        """The connection pool, made on first use (inside the running loop)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def any_up(self) -> bool:
        return any(instance.up for instance in self.instances)

    def _pick(self, tried: list[Instance]) -> Instance:
        """The live untried instance with the fewest outstanding calls, the
        next in turn among ties; an untried down one when none is live."""
        untried = [instance for instance in self.instances if instance not in tried]
        candidates = [instance for instance in untried if instance.up] or untried
        fewest = min(instance.outstanding for instance in candidates)
        ties = [instance for instance in candidates if instance.outstanding == fewest]
        return ties[next(self._turns) % len(ties)]

    async def _request(self, method: str, path: str, timeout: float, **kwargs: Any) -> Any:
        """The call on one instance; on the next one while ports refuse."""
        tried: list[Instance] = []
        while True:
            instance = self._pick(tried)
            tried.append(instance)
            try:
                return await self._request_to(instance, method, path, timeout, **kwargs)
            except RasaUnavailableError as exc:
                if not exc.refused:
                    raise
                instance.up = False
                if len(tried) == len(self.instances):
                    raise

    async def _request_to(self, instance: Instance, method: str, path: str, timeout: float, **kwargs: Any) -> Any:
        limits = aiohttp.ClientTimeout(total=timeout, sock_connect=min(timeout, QUICK_TIMEOUT))
        instance.outstanding += 1
        try:
            async with self._http().request(method, f"{instance.url}{path}", timeout=limits, **kwargs) as response:
                instance.responses += 1
                response.raise_for_status()
                return await response.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise RasaUnavailableError(_kind(exc), refused=isinstance(exc, NOT_SENT)) from exc
        finally:
            instance.outstanding -= 1

    async def _api(self, method: str, path: str, *, timeout: float = QUICK_TIMEOUT, **kwargs: Any) -> Any:
        """A call to Rasa's HTTP API, which takes the token as a query parameter."""
        params = {**kwargs.pop("params", {}), "token": self._token}
        return await self._request(method, path, timeout, params=params, **kwargs)

    async def send_message(self, sender: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        """Send a user message through the front-door channel when a place
        is free (first come first served); return the bot messages."""
        body = {"sender": sender, "message": text, "metadata": metadata}
        headers = {TOKEN_HEADER: self._token}
        places, place = self._turn_places(), object()
        deadline = anyio.current_time() + self._turn_timeout
        await self._take_place(places, place)
        try:
            timeout = deadline - anyio.current_time()
            messages: list[dict[str, Any]] = await self._request("POST", WEBHOOK, timeout, json=body, headers=headers)
        finally:
            places.release_on_behalf_of(place)
        return messages

    async def _take_place(self, places: anyio.CapacityLimiter, place: object) -> None:
        """A place at once when one is free, else the first free one while
        QUICK_TIMEOUT of RASA_TIMEOUT is left for Rasa to answer (a turn
        sent with less would more often time out after Rasa ran it);
        RasaUnavailableError("Busy") when none came."""
        try:
            places.acquire_on_behalf_of_nowait(place)
            return
        except anyio.WouldBlock:
            pass
        try:
            with anyio.fail_after(max(self._turn_timeout - QUICK_TIMEOUT, 0)):
                await places.acquire_on_behalf_of(place)
        except TimeoutError as exc:
            raise RasaUnavailableError("Busy") from exc

    def _turn_places(self) -> anyio.CapacityLimiter:
        """The places for turns in flight: RASA_TURNS_IN_FLIGHT for each
        live instance (for one when none is), so a turn waits here rather
        than in a busy Rasa."""
        if self._places is None:
            self._places = anyio.CapacityLimiter(self._per_instance)
        live = sum(instance.up for instance in self.instances)
        self._places.total_tokens = self._per_instance * max(live, 1)
        return self._places

    async def add_event(self, sender: str, event: dict[str, Any]) -> None:
        """Append an event (for example pause or resume) to a conversation,
        through any live instance."""
        await self._api("POST", f"/conversations/{sender}/tracker/events", json=event)

    async def status(self, instance: Instance) -> dict[str, Any]:
        """One instance's /status: the loaded model file and its fingerprint."""
        params = {"token": self._token}
        status: dict[str, Any] = await self._request_to(instance, "GET", "/status", QUICK_TIMEOUT, params=params)
        return status
