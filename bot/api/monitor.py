"""Which parts behind the front door answer: Rasa (with a model) and the action server.

The front door checks both every PROBE_SECONDS in the background with short
time-outs. A part counts as down when its port refuses the connection (the
process is gone) or when it missed MISSES_BEFORE_DOWN checks in a row (it is
stopped or hung; a busy part that answers one check late is not down). A
turn that needs a part that is down is answered at once with the Danish 503
and the municipality's contact route, instead of after a time-out; /health
checks afresh and shows which part does not answer.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import PurePath

import httpx

from bot.api.rasa_client import QUICK_TIMEOUT, RasaClient, RasaUnavailableError
from bot.settings import Settings

OK = "ok"
UNAVAILABLE = "unavailable"
PROBE_SECONDS = 2.0
MISSES_BEFORE_DOWN = 2
REFUSED = "ConnectError"


@dataclass(frozen=True)
class Parts:
    rasa: str
    actions: str
    model: str | None = None

    def down(self) -> str | None:
        """The first part that is not ok, by name."""
        return next((name for name in ("rasa", "actions") if getattr(self, name) != OK), None)


class Monitor:
    def __init__(self, settings: Settings, rasa: RasaClient, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.rasa = rasa
        self.http = http
        self.last: Parts | None = None
        self._misses: dict[str, int] = {}
        self._refused: set[str] = set()

    async def _rasa(self) -> tuple[str, str | None]:
        try:
            status = await self.rasa.status()
        except RasaUnavailableError as exc:
            self._refused.update(["rasa"] if str(exc) == REFUSED else [])
            return UNAVAILABLE, None
        model_file = status.get("model_file")
        if not model_file:
            return "no model loaded", None
        return OK, PurePath(model_file).name.removesuffix(".tar.gz")

    async def _actions(self) -> str:
        try:
            response = await self.http.get(f"{self.settings.actions_url}/health", timeout=QUICK_TIMEOUT)
            response.raise_for_status()
        except httpx.ConnectError:
            self._refused.add("actions")
            return UNAVAILABLE
        except httpx.HTTPError:
            return UNAVAILABLE
        return OK

    async def check(self) -> Parts:
        self._refused.clear()
        (rasa, model), actions = await asyncio.gather(self._rasa(), self._actions())
        self.last = Parts(rasa, actions, model)
        for name in ("rasa", "actions"):
            self._misses[name] = self._misses.get(name, 0) + 1 if getattr(self.last, name) != OK else 0
        return self.last

    def down(self) -> str | None:
        """A part whose port refuses connections, or that missed the last
        MISSES_BEFORE_DOWN checks (None before the first check)."""
        missing = (name for name, misses in self._misses.items() if misses >= MISSES_BEFORE_DOWN)
        return next(iter(sorted(self._refused)), None) or next(missing, None)

    async def run(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(PROBE_SECONDS)
