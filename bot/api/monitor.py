"""Which parts behind the front door answer: each Rasa instance (with a model) and the action server.

The front door checks them every PROBE_SECONDS in the background with short
time-outs. A part counts as down when its port refuses the connection (the
process is gone) or when it missed MISSES_BEFORE_DOWN checks in a row (it is
stopped or hung; a busy part that answers one check late is not down, nor is
a Rasa instance that answered turns since the last check). A Rasa
instance that is down gets no turns (bot/api/rasa_client.py) until it
answers a check again. A turn that needs a part that is down (the action
server, or every Rasa instance) is answered at once with the Danish 503 and
the municipality's contact route, instead of after a time-out; /health
checks afresh and shows which part does not answer.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import PurePath

import httpx

from bot.api.rasa_client import QUICK_TIMEOUT, Instance, RasaClient, RasaUnavailableError
from bot.settings import Settings

OK = "ok"
UNAVAILABLE = "unavailable"
#: Rasa's state while some instances serve and others do not.
DEGRADED = "degraded"
PROBE_SECONDS = 2.0
MISSES_BEFORE_DOWN = 2
ACTIONS = "actions"


@dataclass(frozen=True)
class Parts:
    rasa: str
    actions: str
    model: str | None = None
    #: Each Rasa instance's state, by URL.
    rasa_instances: dict[str, str] = field(default_factory=dict)

    def down(self) -> str | None:
        """The first part that is not ok, by name."""
        return next((name for name in ("rasa", ACTIONS) if getattr(self, name) != OK), None)


def rasa_state(states: list[str]) -> str:
    """ok when every instance is, degraded while some are, else the first one's state."""
    if all(state == OK for state in states):
        return OK
    return DEGRADED if OK in states else states[0]


class Monitor:
    def __init__(self, settings: Settings, rasa: RasaClient, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.rasa = rasa
        self.http = http
        self.last: Parts | None = None
        #: Checks missed in a row, by Rasa instance URL and ACTIONS.
        self._misses: dict[str, int] = {}
        #: Each Rasa instance's responses at the last check, by URL.
        self._responses: dict[str, int] = {}
        self._actions_refused = False

    def _count(self, key: str, ok: bool) -> int:
        self._misses[key] = 0 if ok else self._misses.get(key, 0) + 1
        return self._misses[key]

    async def _instance(self, instance: Instance) -> tuple[str, str | None]:
        """Check one Rasa instance and take it out of (or back into) service."""
        refused = False
        before = self._responses.get(instance.url, instance.responses)
        try:
            status = await self.rasa.status(instance)
            model_file = status.get("model_file")
            state = OK if model_file else "no model loaded"
        except RasaUnavailableError as exc:
            refused = exc.refused
            state, model_file = UNAVAILABLE, None
        self._responses[instance.url] = instance.responses
        busy = state == UNAVAILABLE and not refused and instance.responses > before
        missed = self._count(instance.url, state == OK or busy)
        if refused or missed >= MISSES_BEFORE_DOWN:
            self.rasa.take_out(instance, "refused" if refused else f"missed {missed} checks")
        else:
            self.rasa.take_back(instance)
        return state, PurePath(model_file).name.removesuffix(".tar.gz") if model_file else None

    async def _actions(self) -> str:
        self._actions_refused = False
        try:
            response = await self.http.get(f"{self.settings.actions_url}/health", timeout=QUICK_TIMEOUT)
            response.raise_for_status()
        except httpx.ConnectError:
            self._actions_refused = True
            return UNAVAILABLE
        except httpx.HTTPError:
            return UNAVAILABLE
        return OK

    async def check(self) -> Parts:
        instances = self.rasa.instances
        rasa, actions = await asyncio.gather(asyncio.gather(*map(self._instance, instances)), self._actions())
        self._count(ACTIONS, actions == OK)
        states = [state for state, _ in rasa]
        model = next((model for _, model in rasa if model), None)
        by_url = {instance.url: state for instance, state in zip(instances, states, strict=True)}
        self.last = Parts(rasa_state(states), actions, model, by_url)
        return self.last

    def down(self) -> str | None:
        """The part a turn cannot do without that is down: rasa when no
        instance serves, actions when its port refuses connections or it
        missed the last MISSES_BEFORE_DOWN checks; None before the first check."""
        if not self.rasa.any_up():
            return "rasa"
        if self._actions_refused or self._misses.get(ACTIONS, 0) >= MISSES_BEFORE_DOWN:
            return ACTIONS
        return None

    async def run(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(PROBE_SECONDS)
