"""The front door's Rasa wrapper spreads turns over several instances, on real
sockets: least outstanding requests first, round robin among ties, a refused
connection retried at once on another instance (which is then skipped until
the monitor sees it answer), a turn that timed out never sent twice, a turn
whose instance died under it answered once (from the shared tracker, or by
another instance), and
no more turns in flight on an instance than RASA_TURNS_IN_FLIGHT: the rest
wait in the front door, first come first served."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from bench.chat import free_ports
from bot.api.monitor import MISSES_BEFORE_DOWN, Monitor
from bot.api.rasa_client import QUICK_TIMEOUT, WEBHOOK, RasaClient, RasaUnavailableError

HOLD = "hold"
#: Turns after which the stand-in breaks the connection: dying after it
#: saved the turn in the shared tracker, dying before, or staying up.
DIES_AFTER_SAVING, DIES_BEFORE_SAVING, BREAKS_OFF = "dies after saving", "dies before saving", "breaks off"
#: Breaks the connection, and the next checks' too before its port closes (a dying process).
DIES_SLOWLY = "dies slowly"
SAVED_REPLY = "svar fra den delte tracker"


class FakeRasa(ThreadingHTTPServer):
    """A Rasa stand-in on a real port: answers /status, /version, a
    conversation's tracker (the shared `tracker` events), and a turn with a
    message naming its port; a turn whose message is HOLD waits for `release`."""

    daemon_threads = True

    def __init__(self, port: int, tracker: list[dict] | None = None, *, mortal: bool = False) -> None:
        self.turns: list[str] = []
        #: Whether it breaks off (and dies) on the turns named for that.
        self.mortal = mortal
        self.release = threading.Event()
        #: Answer /status only after the monitor's time-out (a busy Rasa).
        self.slow_status = False
        self.tracker = tracker if tracker is not None else []
        #: Checks to break off before it dies.
        self.dying = 0
        super().__init__(("127.0.0.1", port), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a connection this stand-in broke on purpose

    @property
    def port(self) -> int:
        return self.server_address[1]

    def close(self) -> None:
        self.release.set()
        self.shutdown()
        self.server_close()


class Handler(BaseHTTPRequestHandler):
    server: FakeRasa

    def do_GET(self) -> None:
        if self.server.dying:
            self.server.dying -= 1
            if self.server.dying:
                self.connection.shutdown(socket.SHUT_RDWR)
            else:
                self._die()
            return
        if self.path.startswith("/conversations/"):
            self._json({"events": self.server.tracker})
            return
        if self.server.slow_status:
            time.sleep(QUICK_TIMEOUT + 1)
        self._json({"model_file": "models/abc.tar.gz", "version": "3.6.21"})

    def do_POST(self) -> None:
        assert self.path == WEBHOOK
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        message = body["message"]
        self.server.turns.append(message)
        if message == HOLD:
            self.server.release.wait(30)
        if self.server.mortal and self._breaks_off(message, body["message_id"]):
            return
        self._json([{"text": str(self.server.port)}])

    def _breaks_off(self, message: str, message_id: str) -> bool:
        """Break the connection without an answer on the turns named for it;
        first die on two of them, on one after saving the turn."""
        if message == DIES_SLOWLY:
            self.server.dying = 3
            self.connection.shutdown(socket.SHUT_RDWR)
            return True
        if message not in (DIES_AFTER_SAVING, DIES_BEFORE_SAVING, BREAKS_OFF):
            return False
        if message == DIES_AFTER_SAVING:
            self.server.tracker += [
                {"event": "user", "text": message, "message_id": message_id},
                {"event": "action", "name": "action_answer"},
                {"event": "bot", "text": SAVED_REPLY, "data": {"custom": {"kind": "answer"}}},
            ]
        if message == BREAKS_OFF:
            self.connection.shutdown(socket.SHUT_RDWR)
        else:
            self._die()
        return True

    def _die(self) -> None:
        """The process is gone: its port refuses from now on, and this connection breaks."""
        self.server.shutdown()
        self.server.server_close()
        self.connection.shutdown(socket.SHUT_RDWR)

    def _json(self, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def servers() -> Iterator[list[FakeRasa]]:
    started: list[FakeRasa] = []
    yield started
    for server in started:
        server.close()


def client_for(settings, first_port: int, instances: int = 2, timeout: float = 10.0, in_flight: int = 4) -> RasaClient:
    update = {"rasa_port": first_port, "rasa_instances": instances, "rasa_timeout": timeout}
    return RasaClient(settings.model_copy(update={**update, "rasa_turns_in_flight": in_flight}))


async def say(rasa: RasaClient, message: str = "hej") -> int:
    """One turn; the port of the instance that answered it."""
    return int((await rasa.send_message("sender", message, {}))[0]["text"])


async def test_the_instance_with_fewest_outstanding_turns_gets_the_next(settings, servers):
    first = free_ports(2)
    servers += [FakeRasa(first), FakeRasa(first + 1)]
    rasa = client_for(settings, first)
    held = asyncio.create_task(say(rasa, HOLD))
    while not any(server.turns for server in servers):
        await asyncio.sleep(0.01)
    busy = next(server for server in servers if server.turns)
    idle = next(server for server in servers if server is not busy)
    assert [await say(rasa) for _ in range(3)] == [idle.port] * 3
    busy.release.set()
    assert await held == busy.port
    # With nothing outstanding, turns take the instances in turn.
    assert sorted([await say(rasa) for _ in range(4)]) == sorted([first, first, first + 1, first + 1])
    await rasa.close()


async def test_a_refused_turn_goes_to_another_instance_and_the_refusing_one_waits_for_the_monitor(settings, servers):
    first = free_ports(2)
    servers.append(FakeRasa(first + 1))  # nothing listens on `first`: connections are refused
    rasa = client_for(settings, first)
    assert [await say(rasa) for _ in range(2)] == [first + 1] * 2
    assert [instance.up for instance in rasa.instances] == [False, True]

    servers.append(FakeRasa(first))  # it is back, but no turn goes there before a check
    assert [await say(rasa) for _ in range(4)] == [first + 1] * 4
    assert servers[1].turns == []
    async with httpx.AsyncClient() as http:
        parts = await Monitor(settings, rasa, http).check()
    assert list(parts.rasa_instances.values()) == ["ok", "ok"] and parts.rasa == "ok"
    assert {await say(rasa) for _ in range(4)} == {first, first + 1}
    await rasa.close()


async def test_a_turn_that_timed_out_after_it_was_sent_is_not_sent_again(settings, servers):
    first = free_ports(2)
    silent = socket.socket()  # accepts connections (the kernel's backlog) and never answers
    silent.bind(("127.0.0.1", first))
    silent.listen()
    servers.append(FakeRasa(first + 1))
    rasa = client_for(settings, first, timeout=1.0)
    with pytest.raises(RasaUnavailableError, match="Timeout"):
        await say(rasa)  # a new client's first turn goes to the first instance
    silent.close()
    assert servers[0].turns == []
    assert rasa.instances[0].up  # a slow instance is the monitor's to judge
    await rasa.close()


async def test_a_turn_whose_instance_died_after_saving_it_is_answered_from_the_tracker(settings, servers):
    first, tracker = free_ports(2), []
    servers += [FakeRasa(first, tracker, mortal=True), FakeRasa(first + 1, tracker)]
    rasa = client_for(settings, first)
    reply = await rasa.send_message("sender", DIES_AFTER_SAVING, {})  # a new client's first turn: the first instance
    assert reply == [{"text": SAVED_REPLY}, {"custom": {"kind": "answer"}}]
    assert servers[1].turns == []  # it ran once
    assert [instance.up for instance in rasa.instances] == [False, True]
    await rasa.close()


@pytest.mark.parametrize("message", [DIES_BEFORE_SAVING, DIES_SLOWLY])
async def test_a_turn_whose_instance_died_before_saving_it_goes_to_another(settings, servers, message):
    """Also when the instance was still dying: a check that breaks off is made again until its port refuses."""
    first = free_ports(2)
    servers += [FakeRasa(first, mortal=True), FakeRasa(first + 1)]
    rasa = client_for(settings, first)
    assert await say(rasa, message) == first + 1
    assert servers[1].turns == [message]
    assert [instance.up for instance in rasa.instances] == [False, True]
    await rasa.close()


async def test_a_turn_cut_off_on_an_instance_still_up_is_not_sent_again(settings, servers):
    """The instance may still run the turn: sending it again could run it twice."""
    first = free_ports(2)
    servers += [FakeRasa(first, mortal=True), FakeRasa(first + 1)]
    rasa = client_for(settings, first)
    with pytest.raises(RasaUnavailableError):
        await say(rasa, BREAKS_OFF)
    assert servers[1].turns == []
    assert [instance.up for instance in rasa.instances] == [True, True]
    await rasa.close()


def fill_the_queue(port: int) -> list[socket.socket]:
    """Connections to `port` until one is not made within a second."""
    made: list[socket.socket] = []
    while True:
        try:
            made.append(socket.create_connection(("127.0.0.1", port), timeout=1))
        except TimeoutError:
            return made


async def test_a_turn_that_got_no_connection_in_time_goes_to_another_and_the_busy_instance_stays(settings, servers):
    first = free_ports(2)
    full = socket.socket()  # a listen queue never accepted from, filled: the kernel drops new connections' SYNs
    full.bind(("127.0.0.1", first))
    full.listen(0)
    waiting = fill_the_queue(first)
    servers.append(FakeRasa(first + 1))
    rasa = client_for(settings, first)
    assert await say(rasa) == first + 1  # a new client's first turn goes to the first instance
    assert [instance.up for instance in rasa.instances] == [True, True]
    for connection in [*waiting, full]:
        connection.close()
    await rasa.close()


async def test_when_every_instance_refuses_the_turn_fails_as_refused(settings):
    rasa = client_for(settings, free_ports(2))
    with pytest.raises(RasaUnavailableError, match="Refused"):
        await say(rasa)
    assert not rasa.any_up()
    await rasa.close()


async def test_an_instance_slow_to_answer_checks_stays_in_service_while_it_answers_turns(settings, servers):
    first = free_ports(1)
    servers.append(FakeRasa(first))
    servers[0].slow_status = True
    rasa = client_for(settings, first, instances=1)
    async with httpx.AsyncClient() as http:
        monitor = Monitor(settings, rasa, http)
        for _ in range(MISSES_BEFORE_DOWN + 1):
            assert (await monitor.check()).rasa == "unavailable"
            await say(rasa)  # busy, not hung
        assert rasa.any_up()
        await monitor.check()  # sees the last turn's answer
        for _ in range(MISSES_BEFORE_DOWN):
            assert rasa.any_up()
            await monitor.check()  # no answer to anything since the last check
        assert not rasa.any_up()
    await rasa.close()


async def wait_for_turns(server: FakeRasa, count: int) -> None:
    while len(server.turns) < count:
        await asyncio.sleep(0.01)


async def test_turns_beyond_the_places_wait_in_the_front_door_and_go_in_the_order_they_came(settings, servers):
    first = free_ports(1)
    servers.append(FakeRasa(first))
    rasa = client_for(settings, first, instances=1, in_flight=1)
    held = asyncio.create_task(say(rasa, HOLD))
    await wait_for_turns(servers[0], 1)
    waiting = []
    for n in range(3):
        waiting.append(asyncio.create_task(say(rasa, f"efter {n}")))
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    assert servers[0].turns == [HOLD]  # Rasa has not seen the three that wait
    servers[0].release.set()
    assert await asyncio.gather(held, *waiting) == [first] * 4
    assert servers[0].turns == [HOLD, "efter 0", "efter 1", "efter 2"]  # one at a time, in order
    await rasa.close()


async def test_a_turn_that_found_no_place_in_time_is_busy_and_never_reached_rasa(settings, servers):
    first = free_ports(1)
    servers.append(FakeRasa(first))
    rasa = client_for(settings, first, instances=1, timeout=QUICK_TIMEOUT + 0.5, in_flight=1)
    held = asyncio.create_task(say(rasa, HOLD))
    await wait_for_turns(servers[0], 1)
    with pytest.raises(RasaUnavailableError, match="Busy"):
        await say(rasa, "for sent")
    servers[0].release.set()
    await held
    assert servers[0].turns == [HOLD]
    assert await say(rasa) == first  # its place was given back
    await rasa.close()


async def test_each_live_instance_adds_its_places(settings, servers):
    first = free_ports(2)
    servers += [FakeRasa(first), FakeRasa(first + 1)]
    rasa = client_for(settings, first, in_flight=1)
    held = [asyncio.create_task(say(rasa, HOLD)) for _ in range(2)]
    for server in servers:
        await wait_for_turns(server, 1)  # one on each: two places in all
    servers[0].release.set()
    servers[1].release.set()
    assert sorted(await asyncio.gather(*held)) == [first, first + 1]
    await rasa.close()
