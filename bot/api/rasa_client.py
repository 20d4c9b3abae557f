"""The one wrapper around Rasa: our front-door channel and its HTTP API.

With several Rasa instances (RASA_INSTANCES) every call goes to the live
instance with the fewest outstanding requests from this worker, round robin
among ties. An instance whose port refuses the connection is marked down and
the call goes at once to the next one: nothing reached Rasa, so nothing can
run twice. So does a call whose connection was not made within QUICK_TIMEOUT,
but that instance stays in service: it is busy (its queue of connections
is full), not gone. A call that timed out or broke off after it was sent is not
retried (Rasa may have run the turn). The monitor (bot/api/monitor.py)
probes every instance and takes a down one back when it answers again.

A turn whose connection broke off (the instance died under it) is healed
here when the instance's port now refuses: nothing more can come from it.
If it saved the turn before it died, the reply is rebuilt from the shared
tracker (found by the message id the front door gave the turn); if not, the
turn goes to another instance. Either way it ran once. A turn on an
instance that still answers is not retried: it may still be running.

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
import math
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp
import anyio

from bot.api.rasa_replay import reply_of
from bot.logs import get_logger
from bot.settings import Settings

#: The channel in bot/rasa_channel.py, and the header that carries the token.
WEBHOOK = "/webhooks/frontdoor/webhook"
TOKEN_HEADER = "X-Frontdoor-Token"
#: Seconds for calls no person waits on with a turn (status, tracker events).
QUICK_TIMEOUT = 2.0
#: Errors that mean nothing reached Rasa: the call may go to another
#: instance. Only the first says the instance is gone (its port refuses);
#: a connection that takes longer than QUICK_TIMEOUT meets a busy one.
NOT_SENT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)
#: Errors after the call was sent that mean the connection broke: the
#: instance may have died under the turn.
BROKE_OFF = (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, aiohttp.ClientPayloadError)

#: Checks, and the seconds between them, of whether an instance whose
#: connection broke off under a turn is gone.
GONE_CHECKS, GONE_CHECK_PAUSE = 5, 0.1

log = get_logger("bot.rasa")


class RasaUnavailableError(Exception):
    """Rasa did not answer, or answered with an error. `not_sent`: nothing
    reached the instance; `refused`: because its port refused the connection.
    `broke_off`: the instance whose connection broke after the call was sent."""

    def __init__(
        self, kind: str, *, not_sent: bool = False, refused: bool = False, broke_off: Instance | None = None
    ) -> None:
        super().__init__(kind)
        self.not_sent = not_sent or refused
        self.refused = refused
        self.broke_off = broke_off


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
    if isinstance(exc, aiohttp.ClientConnectorError):
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

    def take_out(self, instance: Instance, why: str) -> None:
        """No more calls go to the instance until a check sees it answer."""
        if instance.up:
            log.warning("rasa_instance_down", instance=self.instances.index(instance) + 1, why=why)
        instance.up = False

    def take_back(self, instance: Instance) -> None:
        """Calls go to the instance again (a check saw it answer)."""
        if not instance.up:
            log.info("rasa_instance_up", instance=self.instances.index(instance) + 1)
        instance.up = True

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
        """The call on one instance; on the next one while nothing reached them."""
        tried: list[Instance] = []
        while True:
            instance = self._pick(tried)
            tried.append(instance)
            try:
                return await self._request_to(instance, method, path, timeout, **kwargs)
            except RasaUnavailableError as exc:
                if not exc.not_sent:
                    raise
                if exc.refused:
                    self.take_out(instance, "refused")
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
            not_sent, refused = isinstance(exc, NOT_SENT), isinstance(exc, aiohttp.ClientConnectorError)
            broke_off = instance if isinstance(exc, BROKE_OFF) and not not_sent else None
            raise RasaUnavailableError(_kind(exc), not_sent=not_sent, refused=refused, broke_off=broke_off) from exc
        finally:
            instance.outstanding -= 1

    async def _api(self, method: str, path: str, *, timeout: float = QUICK_TIMEOUT, **kwargs: Any) -> Any:
        """A call to Rasa's HTTP API, which takes the token as a query parameter."""
        params = {**kwargs.pop("params", {}), "token": self._token}
        return await self._request(method, path, timeout, params=params, **kwargs)

    async def send_message(self, sender: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        """Send a user message through the front-door channel when a place
        is free (first come first served); return the bot messages."""
        body = {"sender": sender, "message": text, "metadata": metadata, "message_id": uuid.uuid4().hex}
        places, place = self._turn_places(), object()
        deadline = anyio.current_time() + self._turn_timeout
        await self._take_place(places, place)
        try:
            return await self._turn(body, deadline - anyio.current_time())
        except RasaUnavailableError as exc:
            if exc.broke_off is None:
                raise
            broke_off, error = exc.broke_off, exc
        finally:
            places.release_on_behalf_of(place)
        # Without a place: the turn mostly waits for the dead instance's lock,
        # and the places shrank with the live instances.
        return await self._recover(broke_off, body, error)

    async def _turn(self, body: dict[str, Any], timeout: float) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = await self._request(
            "POST", WEBHOOK, timeout, json=body, headers={TOKEN_HEADER: self._token}
        )
        return messages

    async def _recover(
        self, instance: Instance, body: dict[str, Any], error: RasaUnavailableError
    ) -> list[dict[str, Any]]:
        """The turn whose connection to `instance` broke off: its reply from
        the tracker when the instance is dead and had saved it, the turn on
        another instance when it is dead and had not; else `error`."""
        if not await self._refuses(instance):
            raise error
        self.take_out(instance, "died under a turn")
        # Events since a restart, read from a live instance as busy as the
        # turn's was: it gets the turn's time, not QUICK_TIMEOUT.
        tracker = await self._api("GET", f"/conversations/{body['sender']}/tracker", timeout=self._turn_timeout)
        reply = reply_of(tracker.get("events") or [], body["message_id"])
        log.warning("turn_recovered", how="reply_from_tracker" if reply is not None else "sent_again")
        # The other instance first waits for the dead one's lock on the
        # conversation to expire (TICKET_LOCK_LIFETIME, RASA_TIMEOUT rounded
        # up), then runs the turn in RASA_TIMEOUT.
        return reply if reply is not None else await self._turn(body, 2 * math.ceil(self._turn_timeout))

    async def _refuses(self, instance: Instance) -> bool:
        """Whether the instance's port refuses a new connection (the process
        is gone). A check whose connection breaks off met a process that is
        dying (its port still took the connection): it is made again."""
        for _ in range(GONE_CHECKS):
            try:
                await self._request_to(instance, "GET", "/version", QUICK_TIMEOUT)
            except RasaUnavailableError as exc:
                if exc.broke_off is None:
                    return exc.refused
                await asyncio.sleep(GONE_CHECK_PAUSE)
                continue
            return False
        return False

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
